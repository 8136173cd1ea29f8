from __future__ import annotations

import json

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
    ORIGIN_ENCRYPTED_EVENT,
    ORIGIN_EVENTBRIDGE,
    ORIGIN_LAMBDA_DESTINATION,
    ORIGIN_LAMBDA_DLQ,
    ORIGIN_SCHEDULER,
    ORIGIN_UNKNOWN,
    ProblemKind,
    UniversalTarget,
    bus_name_from_arn,
    parse_message,
    parse_raw_object,
    with_decrypted_event,
)
from tests.support.events import (
    ACCOUNT,
    KEY_ARN,
    REGION,
    SAMPLE_ENCRYPTED_PAYLOAD,
    body_of,
    bus_arn,
    custom_event,
    encrypted_event_message,
    encrypted_event_wrapper,
    eventbridge_dlq_message,
    lambda_destination_message,
    lambda_dlq_message,
    lambda_stream_failure_message,
    pipes_failure_message,
    raw_sqs_message,
    rule_arn,
    s3_cloudtrail_event,
    s3_event_notification_message,
    s3_test_event_message,
    scheduler_dead_letter_message,
    sns_notification_message,
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


def test_known_event_shapes_have_no_problem_kind() -> None:
    for message in (
        eventbridge_dlq_message(s3_cloudtrail_event()),
        lambda_dlq_message(custom_event()),
        lambda_destination_message(custom_event()),
    ):
        record = parse_message(received(message))
        assert (record.problem, record.problem_kind, record.hint) == (None, None, None)


def test_malformed_bodies_are_bad_records() -> None:
    for body in ("", "not json", "[1]", '{"source": "s", "detail-type": "x"}'):
        record = parse_message(received({"MessageBody": body}))
        assert record.problem_kind is ProblemKind.BAD_RECORD, body


# ---- encrypted-event wrapper -----------------------------------------------------------------


def test_encrypted_event_wrapper_from_a_bus_dlq_is_kept_with_key_and_bus() -> None:
    record = parse_message(received(encrypted_event_message(bus="orders")))
    assert record.origin == ORIGIN_ENCRYPTED_EVENT
    assert not record.redrivable
    assert (record.problem, record.problem_kind) == ("encrypted_event", ProblemKind.ENCRYPTED)
    assert record.event_bus_arn == bus_arn("orders")
    assert record.event_bus_name == "orders"
    assert record.kms_key_arn == KEY_ARN
    assert record.encrypted_payload == SAMPLE_ENCRYPTED_PAYLOAD
    # A bus DLQ sends no RULE_ARN: the wrapper's rule-arn, in the form RULE_ARN has.
    assert record.rule_arn == rule_arn("billing-ingest", bus="orders")
    assert not record.decrypted
    assert KEY_ARN in (record.hint or "") and bus_arn("orders") in (record.hint or "")
    assert SAMPLE_ENCRYPTED_PAYLOAD not in (record.hint or "")
    assert record.attributes() == {
        "rule_arn": rule_arn("billing-ingest", bus="orders"),
        "event_bus_arn": bus_arn("orders"),
        "kms_key_arn": KEY_ARN,
    }


def test_encrypted_event_wrapper_in_a_target_dlq_keeps_the_failure_context() -> None:
    record = parse_message(received(encrypted_event_message(bus="orders", target_dlq=True)))
    assert record.origin == ORIGIN_ENCRYPTED_EVENT
    assert record.problem == "encrypted_event"
    assert record.rule_arn == rule_arn("billing-ingest", bus="orders")
    assert record.error_code == "NO_PERMISSIONS"
    assert record.retry_attempts == 185


def test_an_event_from_aws_events_that_is_no_wrapper_is_an_event() -> None:
    event = custom_event(source="aws.events", **{"detail-type": "Scheduled Event"})
    record = parse_message(received({"MessageBody": body_of(event)}))
    assert record.origin == ORIGIN_UNKNOWN
    assert record.redrivable


def test_a_custom_event_named_encrypted_events_is_an_event() -> None:
    event = custom_event(**{"detail-type": "Encrypted Events"})
    assert parse_message(received({"MessageBody": body_of(event)})).redrivable


def test_decrypted_copy_holds_the_original_event_and_the_same_message() -> None:
    wrapper = parse_message(received(encrypted_event_message(bus="orders")))
    event = custom_event(3)
    record = with_decrypted_event(wrapper, body_of(event))
    assert record.redrivable and record.decrypted
    assert (record.problem_kind, record.hint) == (None, None)
    assert record.origin == ORIGIN_ENCRYPTED_EVENT
    assert record.event_id == event["id"] != wrapper.event_id
    assert json.loads(record.detail_text or "") == event["detail"]
    assert record.body == wrapper.body  # what a queue ever gets back is the wrapper
    assert (record.receipt_handle, record.event_bus_name) == ("handle-1", "orders")
    assert not wrapper.decrypted and wrapper.problem == "encrypted_event"


@pytest.mark.parametrize(
    ("plaintext", "reason"),
    [
        ("not json", "decrypted_invalid_json"),
        ('{"source": "s", "detail-type": "x"}', "decrypted_missing_detail"),
        (body_of({**custom_event(), "detail": [1]}), "decrypted_detail_not_object"),
    ],
)
def test_decrypted_plaintext_that_is_no_event_is_kept(plaintext: str, reason: str) -> None:
    wrapper = parse_message(received(encrypted_event_message()))
    record = with_decrypted_event(wrapper, plaintext)
    assert record.decrypted and record.problem == reason
    assert record.problem_kind is ProblemKind.BAD_RECORD


def test_a_decrypted_wrapper_is_never_put_as_an_event() -> None:
    wrapper = parse_message(received(encrypted_event_message()))
    inner = body_of(json.loads(wrapper.body))
    assert with_decrypted_event(wrapper, inner).problem == "decrypted_encrypted_event"


@pytest.mark.parametrize(
    ("wrapper_rule", "standard"),
    [
        (f"{bus_arn('orders')}/ingest", rule_arn("ingest", bus="orders")),
        (f"{bus_arn('default')}/ingest", rule_arn("ingest")),
        (f"{bus_arn('aws.partner/x.com/1/o')}/r", rule_arn("r", bus="aws.partner/x.com/1/o")),
        (rule_arn("ingest", bus="orders"), rule_arn("ingest", bus="orders")),
        (f"{bus_arn('orders')}", bus_arn("orders")),
        (7, None),
    ],
)
def test_wrapper_rule_arn_takes_the_form_rule_arns_have(
    wrapper_rule: object, standard: str
) -> None:
    body = encrypted_event_wrapper()
    body["detail"]["rule-arn"] = wrapper_rule
    record = parse_message(received({"MessageBody": body_of(body)}))
    assert record.rule_arn == standard


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (bus_arn("orders"), "orders"),
        (bus_arn("aws.partner/example.com/123/orders"), "aws.partner/example.com/123/orders"),
        ("arn:aws:events:us-east-1:123456789012:rule/x", None),
        (None, None),
        ("arn:aws:events:us-east-1:123456789012:event-bus/", None),
    ],
)
def test_bus_name_from_arn(arn: str, name: str) -> None:
    assert bus_name_from_arn(arn) == name


# ---- Scheduler dead-letter events -----------------------------------------------------------


def test_scheduler_dead_letter_event_carries_the_schedules_input() -> None:
    message = scheduler_dead_letter_message()
    record = parse_message(received(message))
    assert record.origin == ORIGIN_SCHEDULER
    assert (record.problem, record.problem_kind) == (
        "scheduler_dead_letter",
        ProblemKind.SCHEDULER,
    )
    assert record.event is None and record.event_id is None
    attributes = record.attributes()
    assert attributes == {
        "target_arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
        "error_code": "AWS.SimpleQueueService.NonExistentQueue",
        "error_message": "The specified queue does not exist for this wsdl version.",
        "exhausted_retry_condition": "MaximumEventAgeInSeconds",
        "retry_attempts": 0,
        "schedule_arn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly-invoices",
        "execution_id": attributes["execution_id"],
        "scheduled_time": "2026-11-21T01:12:00Z",
        "payload_truncated": False,
    }
    assert record.rule_arn is None  # ERROR_CODE is shared with rule DLQs; no rule here
    assert record.schedule_input is not None and record.schedule_input.is_json
    assert record.schedule_input.text == message["MessageBody"]
    assert record.schedule_input.value["MessageBody"] == "Hello, world!"
    assert record.schedule_input_problem is None
    assert record.universal_target == UniversalTarget("sqs", "sendMessage")
    assert "nightly-invoices" in (record.hint or "") and "Hello" not in (record.hint or "")


def test_scheduler_copies_are_the_same_by_execution_id() -> None:
    first = parse_message(received(scheduler_dead_letter_message(execution_id="exec-1")))
    copy = parse_message(received(scheduler_dead_letter_message(execution_id="exec-1")))
    assert first.dedupe_key == copy.dedupe_key == "exec-1"
    assert first.event_id is None  # not an event: results show no event id


@pytest.mark.parametrize(
    ("truncated", "problem"),
    [
        ("true", "scheduler_input_truncated"),
        (None, "scheduler_input_unconfirmed"),
        # Only the documented "false" lets the body go.
        ("False", "scheduler_input_unconfirmed"),
        (" false", "scheduler_input_unconfirmed"),
        ("maybe", "scheduler_input_unconfirmed"),
    ],
)
def test_scheduler_input_that_may_be_cut_is_not_offered(truncated: str, problem: str) -> None:
    record = parse_message(received(scheduler_dead_letter_message(truncated=truncated)))
    assert record.problem == "scheduler_dead_letter"
    assert record.schedule_input is None
    assert record.schedule_input_problem == problem


def test_scheduler_dead_letter_whose_input_looks_like_an_event_is_still_kept() -> None:
    record = parse_message(received(scheduler_dead_letter_message(body_of(custom_event()))))
    assert record.problem == "scheduler_dead_letter" and record.event is None


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:scheduler:::aws-sdk:sqs",
        "arn:aws:scheduler:::aws-sdk::sendMessage",
        "arn:aws:sqs:us-east-1:123456789012:orders",
    ],
)
def test_not_a_universal_target(arn: str) -> None:
    record = parse_message(received(scheduler_dead_letter_message(target_arn=arn)))
    assert record.universal_target is None


# ---- other services' records ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason", "named"),
    [
        (sns_notification_message(), "sns_notification", "arn:aws:sns:us-east-1:"),
        (s3_event_notification_message(), "s3_event_notification", "billing-inbox"),
        (s3_test_event_message(), "s3_event_notification", "billing-inbox"),
        (pipes_failure_message("kinesis"), "pipes_failure_record", ":stream/orders"),
        (pipes_failure_message("dynamodb"), "pipes_failure_record", "table/orders/stream"),
        (lambda_stream_failure_message(), "lambda_stream_failure_record", "orders-consumer"),
        (raw_sqs_message(), "not_an_event", "not an event"),
        (raw_sqs_message("{}"), "not_an_event", "not an event"),
    ],
)
def test_foreign_records_are_kept_with_what_they_look_like(
    message: dict, reason: str, named: str
) -> None:
    record = parse_message(received(message))
    assert not record.redrivable
    assert (record.problem, record.problem_kind) == (reason, ProblemKind.FOREIGN_RECORD)
    assert record.event is None
    assert named in (record.hint or "")


def test_s3_notification_from_a_lambda_dlq_keeps_the_lambda_context() -> None:
    record = parse_message(received(s3_event_notification_message()))
    assert record.origin == ORIGIN_LAMBDA_DLQ
    assert record.error_message == "Task timed out after 3.00 seconds"
    assert "invoices/2026" not in (record.hint or "")  # names the bucket, not the object


def test_sns_notification_carrying_an_event_says_so() -> None:
    record = parse_message(received(sns_notification_message(body_of(custom_event()))))
    assert record.problem == "sns_notification"
    assert "its Message is an EventBridge event" in (record.hint or "")


def test_lambda_destination_wrapping_an_s3_notification_is_foreign() -> None:
    notification = json.loads(s3_event_notification_message()["MessageBody"])
    message = lambda_destination_message(notification)
    record = parse_message(received(message))
    assert record.origin == ORIGIN_LAMBDA_DESTINATION
    assert record.problem == "s3_event_notification"


@pytest.mark.parametrize(
    "body",
    [
        r'{"Type": "Notification", "TopicArn": "arn:aws:sns:x\nforged", "MessageId": "1"}',
        r'{"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "Bad Name\n"}}}]}',
        '{"KinesisBatchInfo": {"streamArn": "' + "arn:" + "x" * 5000 + '"}}',
    ],
)
def test_hints_quote_only_well_formed_names(body: str) -> None:
    record = parse_message(received({"MessageBody": body}))
    assert record.problem_kind is ProblemKind.FOREIGN_RECORD
    assert "(unknown)" in (record.hint or "")
    assert "\n" not in (record.hint or "") and len(record.hint or "") < 300


def test_a_partial_event_is_still_read_as_an_event() -> None:
    """One event key is enough to read it as a (possibly malformed) event, as before."""
    record = parse_message(received({"MessageBody": '{"detail": {}, "Type": "Notification"}'}))
    assert record.problem == "missing_source"
    assert record.problem_kind is ProblemKind.BAD_RECORD


@pytest.mark.parametrize(
    "body",
    ['{"Type": []}', '{"Type": {}, "TopicArn": 1, "MessageId": 1}', '{"Records": [[]]}'],
)
def test_foreign_looking_keys_of_any_type_are_not_an_event(body: str) -> None:
    """Found by the generated messages: an unhashable `Type` made parse_message raise."""
    assert parse_message(received({"MessageBody": body})).problem == "not_an_event"
