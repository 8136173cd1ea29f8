"""Realistic DLQ messages: what EventBridge and Lambda really put in a DLQ."""

from __future__ import annotations

import json
import uuid
from typing import Any, Optional

ACCOUNT = "123456789012"
REGION = "us-east-1"


def rule_arn(name: str, bus: str = "default") -> str:
    path = name if bus == "default" else f"{bus}/{name}"
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{path}"


def s3_cloudtrail_event(key: str = "invoices/2026/11/0001.pdf", **overrides: Any) -> dict[str, Any]:
    """An S3 object-level API call as EventBridge delivers it via CloudTrail."""
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-11-20T08:15:30Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::billing-inbox/{key}"],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:ingest"},
            "eventTime": "2026-11-20T08:15:29Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject",
            "awsRegion": REGION,
            "requestParameters": {"bucketName": "billing-inbox", "key": key},
            "responseElements": None,
            "additionalEventData": {"bytesTransferredIn": 48213.0},
        },
    }
    event.update(overrides)
    return event


def custom_event(number: int = 1, **overrides: Any) -> dict[str, Any]:
    """A custom application event with Japanese text and a float that must keep its spelling."""
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "注文確定",
        "source": "com.example.shop",
        "account": ACCOUNT,
        "time": "2026-11-21T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"],
        "detail": {
            "orderId": f"ORD-{number:05d}",
            "customer": {"name": "山田 太郎", "tier": "gold"},
            "items": [{"sku": "TEA-001", "name": "抹茶", "qty": 2, "price": 1200.50}],
            "total": 2401.00,
            "note": "配達は午前中に",
        },
    }
    event.update(overrides)
    return event


def body_of(event: dict[str, Any]) -> str:
    """The event as EventBridge serialises it: compact, non-ASCII kept."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def eventbridge_dlq_message(
    event: dict[str, Any],
    rule: Optional[str] = None,
    target_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:billing-ingest",
    error_code: str = "CONNECTION_FAILURE",
    condition: str = "MaximumRetryAttempts",
    body: Optional[str] = None,
) -> dict[str, Any]:
    """send_message kwargs (less QueueUrl) for a rule-target DLQ message."""
    return {
        "MessageBody": body if body is not None else body_of(event),
        "MessageAttributes": {
            "RULE_ARN": _string(rule or rule_arn("billing-ingest")),
            "TARGET_ARN": _string(target_arn),
            "ERROR_CODE": _string(error_code),
            "ERROR_MESSAGE": _string("Failed to connect to the target."),
            "EXHAUSTED_RETRY_CONDITION": _string(condition),
            "RETRY_ATTEMPTS": _string("185"),
        },
    }


def lambda_dlq_message(event: dict[str, Any]) -> dict[str, Any]:
    """An asynchronous-invocation DLQ message of a Lambda function behind a rule."""
    return {
        "MessageBody": body_of(event),
        "MessageAttributes": {
            "RequestID": _string(str(uuid.uuid4())),
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": _string("Task timed out after 3.00 seconds"),
        },
    }


def lambda_destination_message(event: dict[str, Any]) -> dict[str, Any]:
    """A Lambda on-failure destination record wrapping the event."""
    record = {
        "version": "1.0",
        "timestamp": "2026-11-21T12:00:07.124Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:billing-ingest:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "KeyError: 'orderId'", "errorType": "KeyError"},
    }
    return {"MessageBody": body_of(record), "MessageAttributes": {}}


def malformed_message(
    body: str = '{"source": "com.example.shop", "detail-type": "x", ',
) -> dict[str, Any]:
    return eventbridge_dlq_message({}, body=body, error_code="INVALID_JSON")


def mixed_messages(count: int) -> list[dict[str, Any]]:
    """A mix of every shape, cycling: S3 via CloudTrail, custom, Lambda DLQ,
    Lambda destination, and one malformed body in every ten."""
    shapes = []
    for number in range(count):
        kind = number % 10
        if kind == 9:
            shapes.append(malformed_message())
        elif kind in (0, 4, 7):
            shapes.append(eventbridge_dlq_message(s3_cloudtrail_event(f"in/{number}.pdf")))
        elif kind in (1, 5, 8):
            shapes.append(eventbridge_dlq_message(custom_event(number)))
        elif kind in (2, 6):
            shapes.append(lambda_dlq_message(custom_event(number)))
        else:
            shapes.append(lambda_destination_message(custom_event(number)))
    return shapes
