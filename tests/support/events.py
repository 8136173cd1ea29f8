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


# ---- what else reaches the same queues ------------------------------------------------------

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b6f1f8e-4d0c-4a5e-9b7e-2f1a3c5d7e9f"
# The start of the sample `encrypted-payload` on the EventBridge page "Decrypting events in
# EventBridge dead-letter queues": an AWS Encryption SDK header (format 2, suite 0x0478,
# context aws:events:event-bus, one aws-kms data key); enough for parsing, not decryption.
SAMPLE_ENCRYPTED_PAYLOAD = (
    "AgR4qiru/XNwTUyCgRHqP7rbbHn/xpmVeVeRIAd12TDYYVwAawABABRhd3M6ZXZlbnRzOmV2ZW50LWJ1cwB"
    "RYXJuOmF3czpldmVudHM6dXMtZWFzdC0xOjE0NjY4NjkwNDY3MzpldmVudC1idXMvY21rbXMtZ2EtY3Jvc3"
    "MtYWNjb3VudC1zb3VyY2UtYnVzAAEAB2F3cy1rbXMAS2Fybjphd3M6a21zOnVzLWVhc3QtMToxNDY2ODY5"
)


def bus_arn(bus: str = "default") -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"


def encrypted_event_wrapper(
    payload: str = SAMPLE_ENCRYPTED_PAYLOAD,
    bus: str = "orders",
    key_arn: str = KEY_ARN,
    rule: str = "billing-ingest",
) -> dict[str, Any]:
    """What EventBridge sends instead of an event it cannot encrypt or decrypt: a new id,
    source aws.events, and the event encrypted in `detail` (rule-arn in the page's form)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "account": ACCOUNT,
        "time": "2026-11-21T12:00:03Z",
        "resources": [],
        "region": REGION,
        "source": "aws.events",
        "detail-type": "Encrypted Events",
        "detail": {
            "event-bus-arn": bus_arn(bus),
            "rule-arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}/{rule}",
            "kms-key-arn": key_arn,
            "encrypted-payload": payload,
        },
    }


def encrypted_event_message(
    payload: str = SAMPLE_ENCRYPTED_PAYLOAD,
    bus: str = "orders",
    key_arn: str = KEY_ARN,
    target_dlq: bool = False,
) -> dict[str, Any]:
    """The wrapper as a bus DLQ holds it, or (`target_dlq`) a target DLQ with its attributes."""
    wrapper = encrypted_event_wrapper(payload, bus, key_arn)
    if target_dlq:
        return eventbridge_dlq_message(
            wrapper, rule=rule_arn("billing-ingest", bus=bus), error_code="NO_PERMISSIONS"
        )
    return {"MessageBody": body_of(wrapper), "MessageAttributes": {}}


def scheduler_request(queue_url: str, message_body: str = "Hello, world!", **extra: Any) -> str:
    """An sqs:sendMessage dead-letter event's body: the SendMessage request parameters, in
    the order and spelling of the Scheduler guide's example."""
    return json.dumps({"MessageBody": message_body, "QueueUrl": queue_url, **extra})


def scheduler_dead_letter_message(
    input_text: str = '{"MessageBody":"Hello, world!","QueueUrl":'
    f'"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/does-not-exist"}}',
    schedule: str = "nightly-invoices",
    target_arn: str = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
    truncated: Optional[str] = "false",
    error_code: str = "AWS.SimpleQueueService.NonExistentQueue",
    execution_id: Optional[str] = None,
    region: str = REGION,
) -> dict[str, Any]:
    """An EventBridge Scheduler dead-letter event as the Scheduler guide documents it
    ("Configuring a schedule's dead-letter queue", "Retrieve the dead-letter event"):
    TARGET_ARN is the service ARN `arn:aws:scheduler:::aws-sdk:SERVICE:ACTION`, the body
    is the request parameters the schedule sent that API, the failure is in the
    attributes. The default is the guide's own example (sqs:sendMessage)."""
    attributes = {
        "ERROR_CODE": _string(error_code),
        "ERROR_MESSAGE": _string("The specified queue does not exist for this wsdl version."),
        "EXECUTION_ID": _string(execution_id or uuid.uuid4().hex[:16]),
        "EXHAUSTED_RETRY_CONDITION": _string("MaximumEventAgeInSeconds"),
        "RETRY_ATTEMPTS": _string("0"),
        "SCHEDULED_TIME": _string("2026-11-21T01:12:00Z"),
        "SCHEDULE_ARN": _string(
            f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule/default/{schedule}"
        ),
        "TARGET_ARN": _string(target_arn),
    }
    if truncated is not None:
        attributes["IS_PAYLOAD_TRUNCATED"] = _string(truncated)
    return {"MessageBody": input_text, "MessageAttributes": attributes}


def sns_notification_message(
    message: str = "Order ORD-00001 shipped", topic: str = "order-updates"
) -> dict[str, Any]:
    """An SNS notification as an SQS subscription without raw delivery receives it."""
    notification = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
        "Subject": "Order update",
        "Message": message,
        "Timestamp": "2026-11-21T12:00:04.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQ",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    return {"MessageBody": json.dumps(notification, indent=2), "MessageAttributes": {}}


def s3_event_notification_message(
    bucket: str = "billing-inbox", key: str = "invoices/2026/11/0001.pdf"
) -> dict[str, Any]:
    """An S3 event notification, as the asynchronous-invocation DLQ of a Lambda function
    triggered by S3 holds it (the event the function got, with RequestID/ErrorCode)."""
    notification = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-20T08:15:30.123Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLE:ingest"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "new-invoices",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": key,
                        "size": 48213,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }
    return {**lambda_dlq_message({}), "MessageBody": body_of(notification)}


def s3_test_event_message(bucket: str = "billing-inbox") -> dict[str, Any]:
    """The test message S3 sends when a notification configuration is saved."""
    body = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-20T08:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    return {"MessageBody": body_of(body), "MessageAttributes": {}}


def _batch_info(stream_arn: str, batch_size: int) -> dict[str, Any]:
    return {
        "shardId": "shardId-000000000001",
        "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
        "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
        "approximateArrivalOfFirstRecord": "2026-11-21T12:00:04.835Z",
        "approximateArrivalOfLastRecord": "2026-11-21T12:00:05.580Z",
        "batchSize": batch_size,
        "streamArn": stream_arn,
    }


def pipes_failure_message(source: str = "kinesis", batch_size: int = 10) -> dict[str, Any]:
    """What a pipe with a stream source sends its DLQ for a batch it gave up on.

    AWS documents that such a pipe has a DLQ, not the body; this is the discarded-batch
    record of the event source mapping poller pipes share with Lambda (the Lambda guide's
    "Retain discarded batch records"), without the function that a pipe does not have.
    """
    if source == "kinesis":
        key, stream = "KinesisBatchInfo", f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders"
    else:
        key = "DDBStreamBatchInfo"
        stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2026-11-01T00:00:00.000"
    record = {
        "version": "1.0",
        "timestamp": "2026-11-21T12:00:06.021Z",
        key: _batch_info(stream, batch_size),
    }
    return {"MessageBody": body_of(record), "MessageAttributes": {}}


def lambda_stream_failure_message(batch_size: int = 500) -> dict[str, Any]:
    """The Lambda guide's invocation record for a discarded Kinesis batch."""
    record = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-consumer",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 1,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2026-11-21T12:00:06.021Z",
        "KinesisBatchInfo": _batch_info(
            f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders", batch_size
        ),
    }
    return {"MessageBody": body_of(record), "MessageAttributes": {}}


def raw_sqs_message(body: str = '{"orderId": "ORD-00001", "status": "shipped"}') -> dict[str, Any]:
    """A message some application sent straight to the queue."""
    return {"MessageBody": body, "MessageAttributes": {}}
