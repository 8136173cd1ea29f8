from __future__ import annotations

import json

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
    ORIGIN_EVENTBRIDGE,
    ORIGIN_LAMBDA_DESTINATION,
    ORIGIN_LAMBDA_DLQ,
    ORIGIN_UNKNOWN,
    parse_message,
    parse_raw_object,
)
from tests.support.events import (
    body_of,
    custom_event,
    eventbridge_dlq_message,
    lambda_destination_message,
    lambda_dlq_message,
    rule_arn,
    s3_cloudtrail_event,
)


def received(send_kwargs: dict, message_id: str = "m-1") -> dict:
    """What ReceiveMessage returns for a message sent with these kwargs."""
    return {
        "MessageId": message_id,
        "ReceiptHandle": "handle-1",
        "Body": send_kwargs["MessageBody"],
        "MessageAttributes": send_kwargs.get("MessageAttributes", {}),
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1763640000000"},
    }


def test_eventbridge_dlq_message_keeps_failure_context() -> None:
    event = s3_cloudtrail_event()
    message = eventbridge_dlq_message(
        event,
        rule=rule_arn("ingest", bus="billing"),
        error_code="THROTTLING",
        condition="MaximumEventAgeInSeconds",
    )
    record = parse_message(received(message))
    assert record.redrivable
    assert record.origin == ORIGIN_EVENTBRIDGE
    assert record.event_id == event["id"]
    assert record.rule_arn == rule_arn("ingest", bus="billing")
    assert record.error_code == "THROTTLING"
    assert record.exhausted_retry_condition == "MaximumEventAgeInSeconds"
    assert record.retry_attempts == 185
    assert record.receive_count == 3
    assert record.sent_timestamp_ms == 1763640000000
    assert json.loads(record.detail_text or "") == event["detail"]


def test_detail_text_is_kept_byte_for_byte() -> None:
    body = (
        '{"id":"e1","source":"com.example.shop","detail-type":"注文確定",'
        '"detail": {"total": 2401.00, "z": 1, "a": "抹茶", "big": 1e400, "esc": "\\u65e5"}}'
    )
    record = parse_message(received({"MessageBody": body}))
    assert record.redrivable
    assert (
        record.detail_text
        == '{"total": 2401.00, "z": 1, "a": "抹茶", "big": 1e400, "esc": "\\u65e5"}'
    )


def test_lambda_dlq_message() -> None:
    record = parse_message(received(lambda_dlq_message(custom_event())))
    assert record.origin == ORIGIN_LAMBDA_DLQ
    assert record.redrivable
    assert record.error_code == "200"
    assert record.error_message == "Task timed out after 3.00 seconds"
    assert record.request_id


def test_lambda_destination_record_unwraps_request_payload() -> None:
    event = custom_event(7)
    record = parse_message(received(lambda_destination_message(event)))
    assert record.origin == ORIGIN_LAMBDA_DESTINATION
    assert record.redrivable
    assert record.event_id == event["id"]
    assert record.exhausted_retry_condition == "RetriesExhausted"
    assert record.error_code == "Unhandled"
    assert record.error_message == "KeyError: 'orderId'"
    assert record.retry_attempts == 3
    assert json.loads(record.detail_text or "") == event["detail"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty_body"),
        ("   ", "empty_body"),
        ("not json", "invalid_json"),
        ('{"source": "a", ', "invalid_json"),
        ('{"a": 1} trailing', "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ('"text"', "not_an_object"),
        ('{"detail-type": "x", "detail": {}}', "missing_source"),
        ('{"source": "s", "detail": {}}', "missing_detail_type"),
        ('{"source": "s", "detail-type": "x"}', "missing_detail"),
        ('{"source": "s", "detail-type": "x", "detail": "{}"}', "detail_not_object"),
        ('{"source": "s", "detail-type": "x", "detail": [1]}', "detail_not_object"),
        ('{"source": 5, "detail-type": "x", "detail": {}}', "invalid_source"),
        ('{"source": "s", "detail-type": "", "detail": {}}', "invalid_detail_type"),
        (
            '{"source": "s", "detail-type": "x", "detail": {}, "resources": [1]}',
            "invalid_resources",
        ),
        ('{"source": "s", "detail-type": "x", "detail": {}, "time": 5}', "invalid_time"),
        ('{"requestContext": {}, "requestPayload": "x"}', "destination_payload_not_object"),
        ("[" * 100000, "invalid_json"),
    ],
)
def test_unusable_bodies_give_a_specific_reason(body: str, reason: str) -> None:
    record = parse_message(received({"MessageBody": body}))
    assert not record.redrivable
    assert record.problem == reason


def test_message_without_attributes_is_unknown_origin() -> None:
    record = parse_message(received({"MessageBody": body_of(custom_event())}))
    assert record.origin == ORIGIN_UNKNOWN
    assert record.redrivable
    assert record.attributes() == {}


@pytest.mark.parametrize(
    "attributes",
    [
        {"MessageAttributes": "0", "Attributes": True},
        {"MessageAttributes": 1.0, "Attributes": [("SentTimestamp", "1")]},
        {"MessageAttributes": {}, "Attributes": {"ApproximateReceiveCount": float("inf")}},
    ],
)
def test_attributes_of_the_wrong_type_are_ignored(attributes: dict) -> None:
    """Found by the reliability suite's generated messages: parse_message raised."""
    record = parse_message({**received({"MessageBody": body_of(custom_event())}), **attributes})
    assert record.redrivable
    assert record.receive_count == 0
    assert record.attributes() == {}


def test_raw_object_keeps_texts_and_values() -> None:
    raw = parse_raw_object(' { "a" : [1, 2] , "b":{"c":"d"} } ')
    assert raw.values == {"a": [1, 2], "b": {"c": "d"}}
    assert raw.texts == {"a": "[1, 2]", "b": '{"c":"d"}'}
