"""What a Scheduler dead-letter event becomes in target mode: the request to send again,
checked against botocore's model of the operation, or the reason it is kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import AwsError
from ansible_collections.redrive.eventbridge.plugins.module_utils.delivery import (
    ALREADY_DELIVERED,
    Route,
    TargetType,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import (
    Disposition,
    Failure,
    Kind,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.planning import (
    Deliver,
    Keep,
    Planner,
    PlanSettings,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
    DlqRecord,
    parse_message,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import DeliverTo
from ansible_collections.redrive.eventbridge.plugins.module_utils.scheduler import (
    request_for,
    schedule_region,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.targets import sender_for
from tests.support.events import ACCOUNT, REGION, scheduler_dead_letter_message

QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/invoices"
SEND = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"


def record(body: Any, target_arn: str = SEND, **options: Any) -> DlqRecord:
    text = body if isinstance(body, str) else json.dumps(body)
    message = scheduler_dead_letter_message(text, target_arn=target_arn, **options)
    return parse_message(
        {
            "MessageId": "m-1",
            "ReceiptHandle": "h-1",
            "Body": message["MessageBody"],
            "MessageAttributes": message["MessageAttributes"],
        }
    )


def refused(body: Any, target_arn: str = SEND) -> Failure:
    answer = request_for(record(body, target_arn))
    assert isinstance(answer, Failure), answer
    return answer


def test_the_documented_send_message_body_is_the_request_as_it_is() -> None:
    body = {
        "MessageBody": "Hello, world!",
        "QueueUrl": QUEUE_URL,
        "MessageGroupId": "invoices",
        "MessageDeduplicationId": "run-2026-11-21",
        "DelaySeconds": 5,
        "MessageAttributes": {"tenant": {"DataType": "String", "StringValue": "acme"}},
    }
    assert request_for(record(body)) == body


@pytest.mark.parametrize(
    ("target_arn", "body"),
    [
        (
            "arn:aws:scheduler:::aws-sdk:sns:publish",
            {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t", "Message": "hi", "Subject": "s"},
        ),
        (
            "arn:aws:scheduler:::aws-sdk:sfn:startExecution",
            {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m", "input": "{}"},
        ),
    ],
)
def test_publish_and_start_execution_are_sent_as_they_are(
    target_arn: str, body: dict[str, Any]
) -> None:
    assert request_for(record(body, target_arn)) == body


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({"MessageBody": "x"}, "scheduler_input_invalid", "SendMessage needs QueueUrl"),
        ({"QueueUrl": QUEUE_URL}, "scheduler_input_invalid", "needs MessageBody"),
        (
            {"MessageBody": "x", "QueueUrl": QUEUE_URL, "Body": "y"},
            "scheduler_input_invalid",
            "has no member Body",
        ),
        (
            {"MessageBody": "x", "QueueUrl": QUEUE_URL, "DelaySeconds": "5"},
            "scheduler_input_invalid",
            "SendMessage.DelaySeconds is not of type integer",
        ),
        (
            {
                "MessageBody": "x",
                "QueueUrl": QUEUE_URL,
                "MessageAttributes": {"raw": {"DataType": "Binary", "BinaryValue": "AAEC"}},
            },
            "scheduler_binary_member",
            "binary member SendMessage.MessageAttributes.raw.BinaryValue",
        ),
        (["MessageBody", "QueueUrl"], "scheduler_input_invalid", "SendMessage is not an object"),
        ("Hello, world!", "scheduler_input_invalid", "not JSON request parameters"),
    ],
)
def test_a_body_that_does_not_fit_the_operation_is_kept(body: Any, code: str, says: str) -> None:
    failure = refused(body)
    assert (failure.kind, failure.code, failure.disposition) == (
        Kind.SCHEDULER,
        code,
        Disposition.HELD,
    )
    assert says in failure.message
    assert "secret" not in failure.describe()


def test_reasons_never_quote_the_body() -> None:
    failure = refused({"MessageBody": "secret", "QueueUrl": QUEUE_URL, "DelaySeconds": "secret"})
    assert "secret" not in failure.describe()


@pytest.mark.parametrize(
    ("target_arn", "says"),
    [
        ("arn:aws:scheduler:::aws-sdk:lambda:invoke", "lambda:invoke: its Payload is binary"),
        ("arn:aws:scheduler:::aws-sdk:kinesis:putRecord", "kinesis:putRecord: its Data is binary"),
        ("arn:aws:scheduler:::aws-sdk:firehose:putRecord", "Record.Data is binary"),
        ("arn:aws:scheduler:::aws-sdk:eventbridge:putEvents", "answered one by one"),
        ("arn:aws:scheduler:::aws-sdk:sqs:createQueue", "sqs:createQueue: this tool calls only"),
        # Not the documented form: a plain resource ARN is never what AWS sends.
        (f"arn:aws:sqs:{REGION}:{ACCOUNT}:invoices", "TARGET_ARN is not"),
    ],
)
def test_other_actions_are_kept_with_why(target_arn: str, says: str) -> None:
    failure = refused({"MessageBody": "x", "QueueUrl": QUEUE_URL}, target_arn)
    assert (failure.kind, failure.code) == (
        Kind.TARGET_UNSUPPORTED,
        "scheduler_target_not_supported",
    )
    assert says in failure.message
    assert failure.describe().startswith("scheduler_target_not_supported: ")


def test_the_region_is_the_schedules_else_the_queue_urls() -> None:
    body = {"MessageBody": "x", "QueueUrl": QUEUE_URL}
    assert schedule_region(record(body, region="ap-southeast-2")) == "ap-southeast-2"
    message = scheduler_dead_letter_message(json.dumps(body))
    del message["MessageAttributes"]["SCHEDULE_ARN"]
    unnamed = parse_message({"Body": message["MessageBody"], **message})
    assert schedule_region(unnamed) == "eu-west-1"
    for url, region in (
        (f"https://ap-south-1.queue.amazonaws.com/{ACCOUNT}/q", "ap-south-1"),
        (f"https://queue.amazonaws.com/{ACCOUNT}/q", None),
        (f"http://127.0.0.1:5000/{ACCOUNT}/q", None),
    ):
        message = scheduler_dead_letter_message(json.dumps({"MessageBody": "x", "QueueUrl": url}))
        del message["MessageAttributes"]["SCHEDULE_ARN"]
        assert schedule_region(parse_message({"Body": message["MessageBody"], **message})) == region


def planned(rec: DlqRecord, deliver_to: DeliverTo) -> Any:
    return Planner(PlanSettings(deliver_to=deliver_to)).decide(rec, 0)


@pytest.mark.parametrize("deliver_to", [DeliverTo.TARGET, DeliverTo.AUTO])
def test_target_mode_plans_the_call_bus_mode_keeps(deliver_to: DeliverTo) -> None:
    body = json.dumps({"MessageBody": "Hello, world!", "QueueUrl": QUEUE_URL})
    plan = planned(record(body), deliver_to)
    assert isinstance(plan, Deliver)
    destination = plan.delivery.destination
    assert (destination.route, destination.type, destination.arn) == (
        Route.TARGET,
        TargetType.SCHEDULER,
        SEND,
    )
    assert destination.type_name == "scheduler:sqs:sendMessage"
    assert (plan.delivery.payload, destination.region) == (body, REGION)

    kept = planned(record(body), DeliverTo.BUS)
    assert isinstance(kept, Keep) and kept.failure.code == "scheduler_dead_letter"


def test_a_truncated_body_is_kept_in_target_mode() -> None:
    plan = planned(
        record({"MessageBody": "x", "QueueUrl": QUEUE_URL}, truncated="true"), DeliverTo.TARGET
    )
    assert isinstance(plan, Keep) and plan.failure.code == "scheduler_input_truncated"


class FakeStates:
    def __init__(self, code: str) -> None:
        self.code = code
        self.calls: list[dict[str, Any]] = []

    def start_execution(self, **request: Any) -> None:
        import botocore.exceptions

        self.calls.append(request)
        error = {"Error": {"Code": self.code, "Message": "exists"}}
        raise botocore.exceptions.ClientError(error, "StartExecution")


class FakeClients:
    def __init__(self, client: Any) -> None:
        self.made: list[tuple[str, Any]] = []
        self._client = client

    def client(self, service: str, region: Any = None) -> Any:
        self.made.append((service, region))
        return self._client


START = "arn:aws:scheduler:::aws-sdk:sfn:startExecution"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:billing"


def start_delivery(body: dict[str, Any], region: str = "eu-central-1") -> Any:
    plan = planned(record(body, START, region=region), DeliverTo.TARGET)
    assert isinstance(plan, Deliver)
    return plan.delivery


def test_a_named_execution_that_exists_was_delivered_before() -> None:
    delivery = start_delivery({"stateMachineArn": MACHINE, "input": "{}", "name": "run-1"})
    states = FakeStates("ExecutionAlreadyExists")
    clients = FakeClients(states)
    sender = sender_for(delivery.destination, clients, 262_144)

    assert sender.send([delivery]) == [ALREADY_DELIVERED]
    assert states.calls == [{"stateMachineArn": MACHINE, "input": "{}", "name": "run-1"}]
    assert clients.made == [("stepfunctions", "eu-central-1")]  # the schedule's region


def test_an_unnamed_execution_refused_is_not_taken_for_delivered() -> None:
    delivery = start_delivery({"stateMachineArn": MACHINE, "input": "{}"})
    clients: Any = FakeClients(FakeStates("ExecutionAlreadyExists"))
    sender = sender_for(delivery.destination, clients, 262_144)
    with pytest.raises(AwsError) as raised:
        sender.send([delivery])
    assert raised.value.code == "ExecutionAlreadyExists"
