# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQS calls in batches, always reading `Failed[]`.

Batch calls answer HTTP 200 even when some entries failed, so every helper here returns
the entries that did not succeed instead of assuming success.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .aws import aws_error
from .batching import plan_batches
from .entries import utf8_len
from .failures import CodeClass, classify
from .ledger import Handle
from .pacing import backoff_delay
from .records import DlqRecord

SQS_BATCH = 10
BATCH_ATTEMPTS = 3
# SQS allows ten message attributes; quarantine notes are added while room is left.
MAX_MESSAGE_ATTRIBUTES = 10
DEFAULT_MAX_MESSAGE_BYTES = 262_144


@dataclass(frozen=True)
class EntryError:
    """One entry of a batch call that did not succeed."""

    message_id: str
    code: str
    retryable: bool


@dataclass(frozen=True)
class Copy:
    """A message to send: the quarantine copy of a DLQ message."""

    message_id: str
    body: str
    attributes: Mapping[str, Any]

    @property
    def size(self) -> int:
        """Bytes as SQS counts them: the body plus each attribute's name, type and value."""
        size = utf8_len(self.body)
        for name, value in self.attributes.items():
            size += utf8_len(name) + utf8_len(str(value.get("DataType", "")))
            size += utf8_len(str(value.get("StringValue", "")))
            size += len(value.get("BinaryValue", b"") or b"")
        return size


def chunks(items: Sequence[Any], size: int = SQS_BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class QueueOps:
    """Receive, delete, change visibility and send for one queue, counting every call."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        count_call: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self._count_call = count_call
        self._sleep = sleep
        self._rng = rng

    def receive(self, limit: int, wait_seconds: int, visibility_timeout: int) -> list[dict]:
        self._count_call("ReceiveMessage")
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(SQS_BATCH, limit)),
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=visibility_timeout,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
        except Exception as error:  # botocore raises many unrelated classes
            raise aws_error(error, "ReceiveMessage") from None
        return list(response.get("Messages") or [])

    def max_message_bytes(self) -> int:
        """The queue's MaximumMessageSize, also the limit of one SendMessageBatch."""
        self._count_call("GetQueueAttributes")
        try:
            answer = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["MaximumMessageSize"]
            )
            return int(answer.get("Attributes", {}).get("MaximumMessageSize"))
        except Exception:  # not worth failing a run over: SQS's default applies
            return DEFAULT_MAX_MESSAGE_BYTES

    def delete(self, handles: Sequence[Handle]) -> list[EntryError]:
        """One attempt per batch: the caller owns the retries of deletes."""
        return self._batches(
            "DeleteMessageBatch",
            chunks(list(handles)),
            lambda handle, entry_id: {"Id": entry_id, "ReceiptHandle": handle.receipt_handle},
            attempts=1,
        )

    def release(self, handles: Sequence[Handle]) -> list[EntryError]:
        """Make messages visible again now instead of at the end of their timeout."""
        return self.hide(handles, 0)

    def hide(self, handles: Sequence[Handle], seconds: int) -> list[EntryError]:
        """Set the messages' visibility timeout to `seconds` from now."""
        return self._batches(
            "ChangeMessageVisibilityBatch",
            chunks(list(handles)),
            lambda handle, entry_id: {
                "Id": entry_id,
                "ReceiptHandle": handle.receipt_handle,
                "VisibilityTimeout": seconds,
            },
        )

    def send(self, copies: Sequence[Copy], max_bytes: int) -> list[EntryError]:
        """Send copies in batches bounded by count and by the queue's byte limit."""
        plan = plan_batches(copies, lambda copy: copy.size, max_bytes + 1, SQS_BATCH)
        failures = [
            EntryError(copy.message_id, "MessageTooLarge", False) for copy in plan.too_large
        ]
        return failures + self._batches(
            "SendMessageBatch",
            plan.batches,
            lambda copy, entry_id: {
                "Id": entry_id,
                "MessageBody": copy.body,
                "MessageAttributes": dict(copy.attributes),
            },
        )

    def _batches(
        self,
        action: str,
        batches: Sequence[Sequence[Any]],
        make_entry: Callable[[Any, str], dict],
        attempts: int = BATCH_ATTEMPTS,
    ) -> list[EntryError]:
        failures: list[EntryError] = []
        for batch in batches:
            pending = list(batch)
            for attempt in range(attempts):
                failed = self._batch_call(action, pending, make_entry)
                retry = [item for item, error in failed if error.retryable]
                if not retry or attempt == attempts - 1:
                    failures.extend(error for _item, error in failed)
                    break
                failures.extend(error for _item, error in failed if not error.retryable)
                pending = retry
                self._sleep(backoff_delay(attempt, self._rng))
        return failures

    def _batch_call(
        self, action: str, items: Sequence[Any], make_entry: Callable[[Any, str], dict]
    ) -> list[tuple[Any, EntryError]]:
        """One batch call; (item, error) for each entry that failed."""
        entries = [make_entry(item, str(index)) for index, item in enumerate(items)]
        method = {
            "DeleteMessageBatch": self.sqs.delete_message_batch,
            "ChangeMessageVisibilityBatch": self.sqs.change_message_visibility_batch,
            "SendMessageBatch": self.sqs.send_message_batch,
        }[action]
        self._count_call(action)
        try:
            response = method(QueueUrl=self.queue_url, Entries=entries)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, action)
            code_class = classify(translated.code)
            if code_class is CodeClass.FATAL:
                raise translated from None
            retryable = code_class in (CodeClass.RETRY, CodeClass.TRANSIENT)
            return [
                (item, EntryError(item.message_id, translated.code, retryable)) for item in items
            ]
        failed = []
        for slot in response.get("Failed") or []:
            index = _slot_index(slot, len(items))
            if index is None:
                continue
            code = str(slot.get("Code", "Unknown"))
            # SQS says whose fault it was: a sender fault will fail the same way again.
            retryable = (
                not slot.get("SenderFault") or classify(code, per_entry=True) is CodeClass.RETRY
            )
            failed.append((items[index], EntryError(items[index].message_id, code, retryable)))
        return failed


def _slot_index(slot: Mapping[str, Any], count: int) -> Optional[int]:
    try:
        index = int(slot.get("Id", ""))
    except ValueError:
        return None
    return index if 0 <= index < count else None


def quarantine_copy(record: DlqRecord, reason: str, source_queue: str) -> Copy:
    """The original body and attributes plus why and where from, within SQS's ten."""
    attributes: dict[str, Any] = {}
    for name, value in record.message_attributes.items():
        kept = {
            key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value
        }
        attributes[name] = kept
    notes = {
        "REDRIVE_REASON": reason[:1024],
        "REDRIVE_SOURCE_QUEUE": source_queue,
        "REDRIVE_ORIGINAL_MESSAGE_ID": record.message_id,
    }
    for name, text in notes.items():
        if len(attributes) >= MAX_MESSAGE_ATTRIBUTES:
            break
        attributes[name] = {"DataType": "String", "StringValue": text}
    return Copy(record.message_id, record.body, attributes)
