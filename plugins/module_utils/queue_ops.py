# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQS calls in batches of ten, always reading `Failed[]`.

Batch calls answer HTTP 200 even when some entries failed, so every helper
here returns the entries that did not succeed instead of assuming success.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Callable

from .aws import aws_error
from .pacing import backoff_delay
from .records import DlqRecord

SQS_BATCH = 10
BATCH_ATTEMPTS = 3
# SQS allows ten message attributes; quarantine notes are added while room is left.
MAX_MESSAGE_ATTRIBUTES = 10

Failure = tuple[DlqRecord, str]


def chunks(items: Sequence[Any], size: int = SQS_BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class QueueOps:
    """Receive, delete, hide or release, and send for one queue, counting every call."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        count_call: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self._count_call = count_call
        self._sleep = sleep

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

    def delete(self, records: Sequence[DlqRecord]) -> list[Failure]:
        """Delete; retry entries in `Failed[]`; return those that still failed."""
        return self._batch_with_retries(
            "DeleteMessageBatch",
            records,
            lambda record, entry_id: {"Id": entry_id, "ReceiptHandle": record.receipt_handle},
            {},
        )

    def release(self, records: Sequence[DlqRecord]) -> list[Failure]:
        """Make messages visible again now instead of at the end of their timeout."""
        return self.hide(records, 0)

    def hide(self, records: Sequence[DlqRecord], seconds: int) -> list[Failure]:
        """Set the messages' visibility timeout to `seconds` from now."""
        return self._batch_with_retries(
            "ChangeMessageVisibilityBatch",
            records,
            lambda record, entry_id: {
                "Id": entry_id,
                "ReceiptHandle": record.receipt_handle,
                "VisibilityTimeout": seconds,
            },
            {},
        )

    def send_copies(self, records: Sequence[tuple[DlqRecord, dict[str, Any]]]) -> list[Failure]:
        """Send bodies with attributes to this queue (used for quarantine)."""
        by_id = {record.message_id: attributes for record, attributes in records}
        return self._batch_with_retries(
            "SendMessageBatch",
            [record for record, _attributes in records],
            lambda record, entry_id: {
                "Id": entry_id,
                "MessageBody": record.body,
                "MessageAttributes": by_id[record.message_id],
            },
            {},
        )

    def _batch_with_retries(
        self,
        action: str,
        records: Sequence[DlqRecord],
        make_entry: Callable[[DlqRecord, str], dict],
        extra: dict[str, Any],
    ) -> list[Failure]:
        failures: list[Failure] = []
        for chunk in chunks(list(records)):
            pending = list(chunk)
            for attempt in range(BATCH_ATTEMPTS):
                failed = self._batch_call(action, pending, make_entry, extra)
                retryable = [(record, code) for record, code, sender in failed if not sender]
                final = [(record, code) for record, code, sender in failed if sender]
                failures.extend(final)
                if not retryable:
                    break
                if attempt == BATCH_ATTEMPTS - 1:
                    failures.extend(retryable)
                    break
                pending = [record for record, _code in retryable]
                self._sleep(backoff_delay(attempt))
        return failures

    def _batch_call(
        self,
        action: str,
        records: Sequence[DlqRecord],
        make_entry: Callable[[DlqRecord, str], dict],
        extra: dict[str, Any],
    ) -> list[tuple[DlqRecord, str, bool]]:
        """One batch call; returns (record, code, sender_fault) for each failed entry."""
        entries = [make_entry(record, str(index)) for index, record in enumerate(records)]
        method = {
            "DeleteMessageBatch": self.sqs.delete_message_batch,
            "ChangeMessageVisibilityBatch": self.sqs.change_message_visibility_batch,
            "SendMessageBatch": self.sqs.send_message_batch,
        }[action]
        self._count_call(action)
        try:
            response = method(QueueUrl=self.queue_url, Entries=entries, **extra)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, action)
            if translated.code.startswith("AccessDenied") or "NonExistentQueue" in translated.code:
                raise translated from None
            return [(record, translated.code, False) for record in records]
        return [
            (
                records[int(item["Id"])],
                str(item.get("Code", "Unknown")),
                bool(item.get("SenderFault")),
            )
            for item in response.get("Failed") or []
        ]


def quarantine_attributes(record: DlqRecord, reason: str, source_queue: str) -> dict[str, Any]:
    """The original attributes plus why and where from, within SQS's limit of ten."""
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
    return attributes
