"""What Lambda hands a function: event source mapping batches, schedules, a context."""

from __future__ import annotations

import base64
import importlib
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from .events import ACCOUNT, REGION

HANDLER_MODULE = "ansible_collections.redrive.eventbridge.handlers.lambda_redrive"
FUNCTION_NAME = "dlq-redrive"


@dataclass
class FakeContext:
    """The parts of the Lambda context object the function reads."""

    remaining_ms: int = 60_000
    function_name: str = FUNCTION_NAME
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def receive(sqs: Any, queue_url: str, limit: int = 10) -> list[dict[str, Any]]:
    """Messages received as an event source mapping receives them (all attributes)."""
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(found)),
            VisibilityTimeout=300,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        found.extend(batch)
    return found


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }


def mapping_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received message as the event source mapping puts it in the event."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def mapping_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [mapping_record(message, queue_arn) for message in messages]}


def _scheduled_event(source: str, resource: str, detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": source,
        "account": ACCOUNT,
        "time": "2026-12-01T03:00:00Z",
        "region": REGION,
        "resources": [resource],
        "detail": detail,
    }


def scheduler_event(schedule: str = "redrive-dlq") -> dict[str, Any]:
    """EventBridge Scheduler's default notification (a schedule with no Input)."""
    arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule}"
    return _scheduled_event("aws.scheduler", arn, "{}")


def rule_schedule_event(rule: str = "redrive-dlq") -> dict[str, Any]:
    """What a schedule rule (ScheduleExpression) sends its target."""
    return _scheduled_event("aws.events", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}", {})


def connection_env(endpoint_url: str) -> dict[str, str]:
    """What Lambda's runtime sets (region, the role's keys), pointed at the test server."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def load_handler(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> ModuleType:
    """The handler module as a new container loads it, with exactly these settings."""
    from ansible_collections.redrive.eventbridge.plugins.module_utils import lambda_runtime

    for name in (lambda_runtime.QUEUE_VARIABLE, *lambda_runtime.OPTION_BY_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if HANDLER_MODULE in sys.modules:
        return importlib.reload(sys.modules[HANDLER_MODULE])
    return importlib.import_module(HANDLER_MODULE)
