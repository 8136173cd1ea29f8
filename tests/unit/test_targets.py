"""Target ARNs and the pure parts of the target senders.

ARN forms: EventBridge API Reference, PutTargets and Target
(https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html), and the
user guide's "Event bus targets in Amazon EventBridge" (eb-targets.html).
"""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.delivery import (
    ACCEPTED,
    Delivery,
    Destination,
    Route,
    Target,
    TargetType,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import (
    Disposition,
    Failure,
    Kind,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.lookups import RuleBook
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
    DlqRecord,
    parse_message,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import TargetResolver
from ansible_collections.redrive.eventbridge.plugins.module_utils.targets import (
    KinesisSender,
    LogsSender,
    delivery_token,
    id_answers,
    log_group_name,
    queue_url,
    target_type,
)
from tests.unit.fakes import FakeEvents

A = "123456789012"
B = "210987654321"
RULE = f"arn:aws:events:us-east-1:{A}:rule/orders/forward"


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (f"arn:aws:lambda:us-east-1:{A}:function:orders", TargetType.LAMBDA),
        (f"arn:aws:lambda:us-east-1:{A}:function:orders:live", TargetType.LAMBDA),
        (f"arn:aws:lambda:us-east-1:{A}:function:orders:7", TargetType.LAMBDA),
        (f"arn:aws:lambda:us-east-1:{A}:function:orders:$LATEST", TargetType.LAMBDA),
        (f"arn:aws:sqs:us-east-1:{A}:orders", TargetType.SQS),
        (f"arn:aws:sqs:us-east-1:{A}:orders.fifo", TargetType.SQS),
        (f"arn:aws:sns:us-east-1:{A}:alerts", TargetType.SNS),
        (f"arn:aws:sns:us-east-1:{A}:alerts.fifo", TargetType.SNS),
        (f"arn:aws:states:us-east-1:{A}:stateMachine:fulfil", TargetType.STEP_FUNCTIONS),
        (f"arn:aws:kinesis:us-east-1:{A}:stream/clicks", TargetType.KINESIS),
        (f"arn:aws:firehose:us-east-1:{A}:deliverystream/archive", TargetType.FIREHOSE),
        (f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/audit", TargetType.LOGS),
        (f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/audit:*", TargetType.LOGS),
        (f"arn:aws:events:us-east-1:{A}:event-bus/default", TargetType.EVENT_BUS),
        (f"arn:aws:events:eu-west-1:{B}:event-bus/central", TargetType.EVENT_BUS),
        (f"arn:aws-cn:sqs:cn-north-1:{A}:orders", TargetType.SQS),
        (f"arn:aws-us-gov:lambda:us-gov-west-1:{A}:function:orders", TargetType.LAMBDA),
    ],
)
def test_supported_target_types(arn: str, kind: TargetType) -> None:
    assert target_type(arn) == (kind, kind.value)


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (f"arn:aws:events:us-east-1:{A}:api-destination/crm/0a1b2c3d", "api_destination"),
        (f"arn:aws:execute-api:us-east-1:{A}:a1b2c3/prod/POST/orders", "api_gateway"),
        (f"arn:aws:appsync:us-east-1:{A}:endpoints/graphql-api/abcd1234", "appsync"),
        (f"arn:aws:batch:us-east-1:{A}:job-queue/nightly", "batch_job_queue"),
        (f"arn:aws:ecs:us-east-1:{A}:cluster/web", "ecs_task"),
        (f"arn:aws:codebuild:us-east-1:{A}:project/build", "codebuild_project"),
        (f"arn:aws:codepipeline:us-east-1:{A}:release", "codepipeline"),
        (f"arn:aws:events:us-east-1:{A}:target/create-snapshot", "ec2_create_snapshot"),
        (f"arn:aws:events:us-east-1:{A}:target/reboot-instances", "ec2_reboot_instances"),
        (f"arn:aws:events:us-east-1:{A}:target/stop-instances", "ec2_stop_instances"),
        (f"arn:aws:events:us-east-1:{A}:target/terminate-instances", "ec2_terminate_instances"),
        (f"arn:aws:imagebuilder:us-east-1:{A}:image-pipeline/golden", "ec2_image_builder"),
        (
            f"arn:aws:inspector:us-east-1:{A}:target/0-abc/template/0-def",
            "inspector_assessment_template",
        ),
        (f"arn:aws:redshift:us-east-1:{A}:cluster:warehouse", "redshift_cluster"),
        (
            f"arn:aws:redshift-serverless:us-east-1:{A}:workgroup/0a1b",
            "redshift_serverless_workgroup",
        ),
        (f"arn:aws:sagemaker:us-east-1:{A}:pipeline/train", "sagemaker_pipeline"),
        (f"arn:aws:ssm:us-east-1:{A}:automation-definition/Restart:$DEFAULT", "ssm_automation"),
        (f"arn:aws:ssm:us-east-1:{A}:opsitem", "ssm_opsitem"),
        (f"arn:aws:ssm:us-east-1:{A}:document/AWS-RunShellScript", "ssm_run_command"),
        (
            f"arn:aws:ssm-incidents::{A}:response-plan/outage",
            "ssm_incident_response_plan",
        ),
        (f"arn:aws:iot:us-east-1:{A}:thing/x", "iot"),
        # A subscription is not a topic, a bare function prefix names no function.
        (f"arn:aws:sns:us-east-1:{A}:alerts:0a1b2c3d-0000-4000-8000-000000000000", "sns"),
        (f"arn:aws:lambda:us-east-1:{A}:function:", "lambda"),
        ("not-an-arn", "unknown"),
        ("", "unknown"),
    ],
)
def test_unsupported_target_types_keep_a_name(arn: str, name: str) -> None:
    assert target_type(arn) == (None, name)


def test_log_group_name_drops_the_stream_wildcard() -> None:
    assert log_group_name(f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/a:*") == (
        "/aws/events/a"
    )
    assert log_group_name(f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/a") == (
        "/aws/events/a"
    )


class _Meta:
    endpoint_url = "https://sqs.eu-west-1.amazonaws.com"


class _Sqs:
    meta = _Meta()


def test_queue_url_is_built_on_the_client_endpoint() -> None:
    # The documented queue URL form: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.
    url = queue_url(_Sqs(), f"arn:aws:sqs:eu-west-1:{B}:orders.fifo")
    assert url == f"https://sqs.eu-west-1.amazonaws.com/{B}/orders.fifo"


# --- delivery tokens: SQS/SNS MessageDeduplicationId and Step Functions execution name


def test_token_is_stable_and_differs_per_rule() -> None:
    event_id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    token = delivery_token(event_id, RULE)
    assert token == delivery_token(event_id, RULE)
    assert token is not None and token.startswith(event_id + "_")
    assert token != delivery_token(event_id, RULE.replace("forward", "audit"))
    assert token != delivery_token("7b8f9f0c-b491-4cf7-a9f1-bf3703467718", RULE)


@pytest.mark.parametrize(
    "event_id",
    ["6a7e8feb-b491-4cf7-a9f1-bf3703467718", "id with spaces/and:colons", "é" * 200, "x" * 41],
)
def test_token_fits_both_services(event_id: str) -> None:
    # StartExecution name: 1-80, and only 0-9 A-Z a-z - _ keeps CloudWatch logging working.
    # MessageDeduplicationId: up to 128 alphanumeric and punctuation characters.
    token = delivery_token(event_id, RULE)
    assert token is not None
    assert re.fullmatch(r"[0-9A-Za-z_-]{1,80}", token)


def test_no_token_without_an_event_id() -> None:
    assert delivery_token(None, RULE) is None
    assert delivery_token("", RULE) is None


# --- answers of SendMessageBatch / PublishBatch, read by Id


def test_id_answers_in_request_order() -> None:
    answers = id_answers(
        {
            "Successful": [{"Id": "2", "MessageId": "m2"}, {"Id": "0", "MessageId": "m0"}],
            "Failed": [
                {"Id": "1", "Code": "InternalError", "Message": "try again", "SenderFault": False},
                {"Id": "3", "Code": "InvalidParameterValue", "SenderFault": True},
            ],
        },
        5,
    )
    assert answers[0] == ACCEPTED and answers[2] == ACCEPTED
    assert isinstance(answers[1], Failure) and answers[1].code == "InternalError"
    assert answers[1].kind is Kind.RETRY_EXHAUSTED  # retryable: the engine tries again
    assert isinstance(answers[3], Failure) and answers[3].kind is Kind.ENTRY_REJECTED
    # Neither successful nor failed: may or may not be in the queue, never given up on.
    assert isinstance(answers[4], Failure) and answers[4].disposition is Disposition.TRANSIENT


# --- Kinesis partition key and CloudWatch Logs log event


def _delivery(
    event: dict,
    payload: str,
    arn: str,
    kind: TargetType,
    settings: dict | None = None,
) -> Delivery:
    record = DlqRecord("m-1", "h-1", payload, event=event, rule_arn=RULE, target_arn=arn)
    target = Target(arn, kind.value, kind, RULE, "t1", settings or {})
    destination = Destination(Route.TARGET, kind, arn, "us-east-1", target)
    return Delivery(record, destination, payload, len(payload.encode()))


STREAM = f"arn:aws:kinesis:us-east-1:{A}:stream/clicks"
EVENT = {
    "id": "e-1",
    "time": "2026-11-21T12:00:00Z",
    "detail": {"orderId": "ORD-1", "total": 12.5, "lines": [{"sku": "A"}]},
}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (None, "e-1"),  # the documented default: the event id
        ("$.detail.orderId", "ORD-1"),
        ("$.detail.total", "12.5"),
        ("$.detail.lines[0].sku", "A"),
        ("$.detail.missing", "e-1"),
    ],
)
def test_partition_key(path: str | None, key: str) -> None:
    settings = {"KinesisParameters": {"PartitionKeyPath": path}} if path else {}
    delivery = _delivery(EVENT, "{}", STREAM, TargetType.KINESIS, settings)
    destination = delivery.destination
    sender = KinesisSender(None, destination)
    assert sender.partition_key(delivery) == key
    # The record size counts the key with the data.
    assert sender.size(delivery) == 2 + len(key)


def test_partition_key_path_eventbridge_cannot_evaluate() -> None:
    settings = {"KinesisParameters": {"PartitionKeyPath": "$..orderId"}}
    delivery = _delivery(EVENT, "{}", STREAM, TargetType.KINESIS, settings)
    sender = KinesisSender(None, delivery.destination)
    key = sender.partition_key(delivery)
    assert isinstance(key, Failure) and key.kind is Kind.TRANSFORM_FAILED
    assert sender.send([delivery]) == [key]  # answered without a call


def test_partition_key_longer_than_kinesis_allows() -> None:
    event = {**EVENT, "detail": {"orderId": "x" * 257}}
    settings = {"KinesisParameters": {"PartitionKeyPath": "$.detail.orderId"}}
    delivery = _delivery(event, "{}", STREAM, TargetType.KINESIS, settings)
    key = KinesisSender(None, delivery.destination).partition_key(delivery)
    assert isinstance(key, Failure) and key.code == "PartitionKeyTooLong"


GROUP = f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/audit:*"
EVENT_MS = 1795262400000  # 2026-11-21T12:00:00Z


def test_log_event_is_the_payload_at_the_event_time() -> None:
    delivery = _delivery(EVENT, '{"id":"e-1"}', GROUP, TargetType.LOGS)
    sender = LogsSender(None, delivery.destination)
    event = sender.log_event(delivery)
    assert (event.timestamp_ms, event.message) == (EVENT_MS, '{"id":"e-1"}')
    assert sender.size(delivery) == len('{"id":"e-1"}') + 26  # PutLogEvents' own formula


@pytest.mark.parametrize(
    ("payload", "stamp", "message"),
    [
        ('{"timestamp":"2026-11-21T12:00:05Z","message":"Order Placed"}', EVENT_MS + 5000, None),
        ('{"timestamp":1795262401000,"message":"Order Placed"}', EVENT_MS + 1000, None),
        ('{"timestamp":"1795262402000","message":"Order Placed"}', EVENT_MS + 2000, None),
        ('{"timestamp":"soon","message":"Order Placed"}', EVENT_MS, None),
        ('{"timestamp":"2026-11-21T12:00:05Z","message":{"a":1}}', EVENT_MS + 5000, '{"a":1}'),
    ],
)
def test_log_event_from_the_timestamp_message_template(
    payload: str, stamp: int, message: str | None
) -> None:
    settings = {"InputTransformer": {"InputTemplate": '{"timestamp":<t>,"message":<m>}'}}
    delivery = _delivery(EVENT, payload, GROUP, TargetType.LOGS, settings)
    event = LogsSender(None, delivery.destination).log_event(delivery)
    assert event.timestamp_ms == stamp
    assert event.message == (message or "Order Placed")


def test_template_form_only_with_an_input_transformer() -> None:
    payload = '{"timestamp":1,"message":"m"}'
    delivery = _delivery(EVENT, payload, GROUP, TargetType.LOGS, {"InputPath": "$.detail"})
    event = LogsSender(None, delivery.destination).log_event(delivery)
    assert (event.timestamp_ms, event.message) == (EVENT_MS, payload)


def test_log_stream_needs_an_event_id() -> None:
    delivery = _delivery({"detail": {}}, "{}", GROUP, TargetType.LOGS)
    (answer,) = LogsSender(None, delivery.destination).send([delivery])
    assert isinstance(answer, Failure) and answer.code == "InvalidLogStreamName"
    assert answer.disposition is Disposition.TERMINAL


def test_one_call_senders_take_one_delivery() -> None:
    delivery = _delivery(EVENT, "{}", GROUP, TargetType.LOGS)
    with pytest.raises(ValueError, match="one delivery per call"):
        LogsSender(None, delivery.destination).send([delivery, delivery])


# --- the failed target, read from ListTargetsByRule ---------------------------------------


def _rule_target_record(target_arn: str, number: int = 1) -> DlqRecord:
    return parse_message(
        {
            "MessageId": f"m-{number}",
            "ReceiptHandle": f"h-{number}",
            "Body": json.dumps({"id": f"e-{number}", "detail": {}}),
            "MessageAttributes": {
                "RULE_ARN": {"DataType": "String", "StringValue": RULE},
                "TARGET_ARN": {"DataType": "String", "StringValue": target_arn},
            },
        }
    )


def test_targets_are_read_page_by_page_once_per_rule() -> None:
    wanted = f"arn:aws:sqs:us-east-1:{A}:orders"
    pages = [
        [{"Id": "audit", "Arn": f"arn:aws:sqs:us-east-1:{A}:audit"}],
        [{"Id": "lambda", "Arn": f"arn:aws:lambda:us-east-1:{A}:function:f"}],
        [{"Id": "orders", "Arn": wanted, "InputPath": "$.detail"}],
    ]
    events = FakeEvents(target_pages={"forward": pages})
    counted: list[str] = []
    resolver = TargetResolver(RuleBook(lambda region: events, counted.append))

    first = resolver.resolve(_rule_target_record(wanted, 1))
    second = resolver.resolve(_rule_target_record(wanted, 2))

    assert isinstance(first, Target) and first == second
    assert (first.arn, first.target_id, first.rule_arn) == (wanted, "orders", RULE)
    assert first.settings == {"Id": "orders", "Arn": wanted, "InputPath": "$.detail"}
    assert events.next_tokens == [None, "1", "2"]  # each page asked for with its token
    assert counted == ["ListTargetsByRule"] * 3  # and the rule read once for both


def test_several_targets_with_one_arn_are_ambiguous_with_a_hint_that_can_be_followed() -> None:
    arn = f"arn:aws:lambda:us-east-1:{A}:function:f"
    pages = [[{"Id": "raw", "Arn": arn}], [{"Id": "shaped", "Arn": arn, "InputPath": "$.detail"}]]
    events = FakeEvents(target_pages={"forward": pages})
    resolver = TargetResolver(RuleBook(lambda region: events, lambda action: None))

    failure = resolver.resolve(_rule_target_record(arn))

    assert isinstance(failure, Failure)
    assert (failure.kind, failure.disposition) == (Kind.AMBIGUOUS_TARGET, Disposition.HELD)
    text = failure.describe()
    assert "raw, shaped" in text and "rule of its own" in text
    assert "target_arns" not in text  # no option chooses among targets of one rule
