"""In-memory SQS and EventBridge clients for fast, deterministic engine tests.

They keep to the API shapes the engine reads (Failed[], per-entry ErrorCode,
receipt handles that go stale on re-receive) and record every call.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from botocore.exceptions import ClientError


def client_error(code: str, operation: str, message: str = "injected") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, Any]
    visible_at: float = 0.0
    handle: str = ""
    receives: int = 0


@dataclass
class FakeSqs:
    clock: Callable[[], float] = time.monotonic
    messages: dict[str, _Message] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    delete_failures: dict[str, int] = field(default_factory=dict)
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # SendMessageBatch refuses a batch over this many bytes, as SQS does.
    max_batch_bytes: int = 262_144
    delete_batches: list[list[str]] = field(default_factory=list)
    fail_queue_attributes: Optional[str] = None

    def __post_init__(self) -> None:
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def add(self, body: str, attributes: Optional[dict[str, Any]] = None) -> str:
        message_id = f"m{next(self._ids):05d}"
        self.messages[message_id] = _Message(message_id, body, attributes or {})
        return message_id

    def receive_message(
        self, QueueUrl: str, MaxNumberOfMessages: int, VisibilityTimeout: int, **_: Any
    ):
        with self._lock:
            self.calls["ReceiveMessage"] += 1
            now = self.clock()
            found = []
            for message in self.messages.values():
                if len(found) >= MaxNumberOfMessages:
                    break
                if message.visible_at <= now:
                    message.receives += 1
                    message.handle = f"{message.message_id}#{message.receives}"
                    message.visible_at = now + VisibilityTimeout
                    found.append(
                        {
                            "MessageId": message.message_id,
                            "ReceiptHandle": message.handle,
                            "Body": message.body,
                            "MessageAttributes": message.attributes,
                            "Attributes": {
                                "ApproximateReceiveCount": str(message.receives),
                                "SentTimestamp": "1763640000000",
                            },
                        }
                    )
            return {"Messages": found} if found else {}

    def _find(self, handle: str) -> Optional[_Message]:
        message = self.messages.get(handle.split("#")[0])
        return message if message is not None and message.handle == handle else None

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]):
        with self._lock:
            self.calls["DeleteMessageBatch"] += 1
            self.delete_batches.append([e["ReceiptHandle"].split("#")[0] for e in Entries])
            failed = []
            for entry in Entries:
                message_id = entry["ReceiptHandle"].split("#")[0]
                if self.delete_failures.get(message_id, 0) > 0:
                    self.delete_failures[message_id] -= 1
                    failed.append(
                        {"Id": entry["Id"], "Code": "InternalError", "SenderFault": False}
                    )
                    continue
                message = self._find(entry["ReceiptHandle"])
                if message is not None:  # a stale handle "succeeds" and deletes nothing
                    del self.messages[message.message_id]
            return {"Successful": [], "Failed": failed}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]):
        with self._lock:
            self.calls["ChangeMessageVisibilityBatch"] += 1
            for entry in Entries:
                message = self._find(entry["ReceiptHandle"])
                if message is not None:
                    message.visible_at = self.clock() + entry["VisibilityTimeout"]
            return {"Successful": [], "Failed": []}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]):
        with self._lock:
            self.calls["SendMessageBatch"] += 1
            if sum(_message_bytes(entry) for entry in Entries) > self.max_batch_bytes:
                raise client_error("AWS.SimpleQueueService.BatchRequestTooLong", "SendMessageBatch")
            self.sent.setdefault(QueueUrl, []).extend(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]):
        if self.fail_queue_attributes:
            raise client_error(self.fail_queue_attributes, "GetQueueAttributes")
        with self._lock:
            hidden = sum(1 for m in self.messages.values() if m.visible_at > self.clock())
            return {
                "Attributes": {
                    "ApproximateNumberOfMessages": str(len(self.messages) - hidden),
                    "ApproximateNumberOfMessagesNotVisible": str(hidden),
                    "MaximumMessageSize": str(self.max_batch_bytes),
                    "QueueArn": "arn:aws:sqs:us-east-1:123456789012:dlq",
                }
            }

    def visible(self) -> list[str]:
        now = self.clock()
        return sorted(m.message_id for m in self.messages.values() if m.visible_at <= now)


def _message_bytes(entry: dict[str, Any]) -> int:
    size = len(entry["MessageBody"].encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name) + len(value.get("DataType", "")) + len(value.get("StringValue", ""))
    return size


class InlineExecutor:
    """Runs each task at once in the caller's thread: no thread, no timing."""

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to whoever reads the future, as a pool does
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True) -> None:
        return None


@dataclass
class FakeEvents:
    """Accepts entries unless `fail(entry, attempt)` returns an error code."""

    fail: Callable[[dict[str, Any], int], Optional[str]] = lambda entry, attempt: None
    whole_call_error: Optional[str] = None
    accepted: list[dict[str, Any]] = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    delay: float = 0.0
    describe_failures: list[str] = field(default_factory=list)
    # Rule name -> DescribeRule answer; any other rule matches every event with an account.
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per-entry answers to give instead of accepting: (detail text) -> slot dict
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Rule name -> ListTargetsByRule pages, each page's NextToken its successor's index.
    target_pages: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    next_tokens: list[Optional[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def put_events(self, Entries: list[dict[str, Any]]):
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls["PutEvents"] += 1
            if self.whole_call_error:
                raise client_error(self.whole_call_error, "PutEvents")
            slots = []
            for entry in Entries:
                key = entry["Detail"]
                self.attempts[key] += 1
                if key in self.slots:
                    slots.append(self.slots[key])
                    continue
                code = self.fail(entry, self.attempts[key])
                if code:
                    slots.append({"ErrorCode": code, "ErrorMessage": "injected"})
                else:
                    self.accepted.append(entry)
                    slots.append({"EventId": f"ev-{len(self.accepted)}"})
            return {"FailedEntryCount": sum(1 for s in slots if "ErrorCode" in s), "Entries": slots}

    def describe_rule(self, Name: str, EventBusName: str = "default"):
        with self._lock:
            self.calls["DescribeRule"] += 1
        answer = self.rules.get(Name, {"EventPattern": '{"account": [{"exists": true}]}'})
        if "error" in answer:
            raise client_error(answer["error"], "DescribeRule")
        return {"Name": Name, "EventBusName": EventBusName, "State": "ENABLED", **answer}

    def list_targets_by_rule(self, Rule: str, EventBusName: str, NextToken: Optional[str] = None):
        with self._lock:
            self.calls["ListTargetsByRule"] += 1
            self.next_tokens.append(NextToken)
        pages = self.target_pages.get(Rule)
        if pages is None:
            raise client_error("ResourceNotFoundException", "ListTargetsByRule")
        index = int(NextToken) if NextToken else 0
        answer: dict[str, Any] = {"Targets": pages[index]}
        if index + 1 < len(pages):
            answer["NextToken"] = str(index + 1)
        return answer

    def describe_event_bus(self, Name: str):
        with self._lock:
            self.calls["DescribeEventBus"] += 1
            if self.describe_failures:
                raise client_error(self.describe_failures.pop(0), "DescribeEventBus")
        return {"Name": Name}
