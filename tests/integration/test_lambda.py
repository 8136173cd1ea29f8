"""The Lambda handler against the moto server: batches from an event source mapping,
scheduled runs, refusals at cold start, and the deployment zip in a bare interpreter."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml

from ansible_collections.redrive.eventbridge.plugins.module_utils.lambda_runtime import (
    LambdaSettingsError,
    RedriveFailed,
    UnsafeSetup,
)
from tests.support.events import (
    custom_event,
    eventbridge_dlq_message,
    rule_arn,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.lambda_events import (
    FUNCTION_NAME,
    FakeContext,
    connection_env,
    load_handler,
    mapping_event,
    receive,
    rule_schedule_event,
    scheduler_event,
)
from tests.support.world import World, client

REPO = Path(__file__).resolve().parents[2]
BUILD_ZIP = REPO / "examples" / "lambda" / "build_zip.py"
TEMPLATE = REPO / "examples" / "lambda" / "template.yaml"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=17) as running:
        yield running


class Orders:
    """A DLQ whose messages failed on a rule of a custom bus; the rule sends to a capture
    queue, so what a redrive puts back on the bus can be read there."""

    def __init__(self, world: World, redrive_policy: bool = True) -> None:
        self.world = world
        self.bus = world.bus("orders")
        self.rule = world.name("forward")
        self.capture = world.queue("capture")
        world.events.put_rule(
            Name=self.rule,
            EventBusName=self.bus,
            EventPattern=json.dumps({"source": ["com.example.shop"]}),
        )
        world.events.put_targets(
            Rule=self.rule,
            EventBusName=self.bus,
            Targets=[{"Id": "capture", "Arn": world.queue_arn(self.capture)}],
        )
        self.dlq = world.queue("dlq")
        self.dlq_arn = world.queue_arn(self.dlq)
        if redrive_policy:
            after = world.queue("dlq-dlq")
            policy = {"deadLetterTargetArn": world.queue_arn(after), "maxReceiveCount": "5"}
            world.sqs.set_queue_attributes(
                QueueUrl=self.dlq, Attributes={"RedrivePolicy": json.dumps(policy)}
            )

    @property
    def rule_arn(self) -> str:
        return rule_arn(self.rule, self.bus)

    def send(self, orders: range, poison: int = 0) -> tuple[list[str], list[str]]:
        """Ids of the good messages (one per order number) and of `poison` bodies that are
        no event at all."""
        good = self.world.send(
            self.dlq,
            [eventbridge_dlq_message(custom_event(n), rule=self.rule_arn) for n in orders],
        )
        bad = self.world.send(
            self.dlq,
            [
                eventbridge_dlq_message(custom_event(0), rule=self.rule_arn, body="not json")
                for _copy in range(poison)
            ],
        )
        return good, bad

    def batch(self, limit: int = 10) -> dict[str, Any]:
        return mapping_event(receive(self.world.sqs, self.dlq, limit), self.dlq_arn)

    def delivered_orders(self) -> list[str]:
        events = self.world.captured_events(self.capture)
        return sorted(event["detail"]["orderId"] for event in events)


def function(monkeypatch: pytest.MonkeyPatch, endpoint_url: str, **settings: str) -> ModuleType:
    """The handler module of a new container with these settings, reaching `endpoint_url`."""
    return load_handler(monkeypatch, {**connection_env(endpoint_url), **settings})


def failed_ids(response: dict[str, Any]) -> list[str]:
    assert set(response) == {"batchItemFailures"}
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def log_lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def order_is(number: int):
    return lambda entry: f'"ORD-{number:05d}"' in entry.get("Detail", "")


# ---- event source mapping ------------------------------------------------------------


def test_a_batch_is_delivered_and_only_the_poison_records_are_reported(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = Orders(world)
    _good, poison = orders.send(range(5), poison=2)
    lambda_redrive = function(monkeypatch, world.endpoint_url, DELIVER_TO="bus")

    response = lambda_redrive.handler(orders.batch(), FakeContext())

    assert sorted(failed_ids(response)) == sorted(poison)
    assert orders.delivered_orders() == [f"ORD-{n:05d}" for n in range(5)]
    # Nothing was deleted or made visible by the function: that is the mapping's part.
    assert world.depth(orders.dlq) == {"visible": 0, "in_flight": 7}
    # One line per invocation; the first batch of a container has what its checks found.
    (summary,) = log_lines(capsys.readouterr().out)
    assert summary["redrive"] == "batch"
    assert summary["cold_start"] == {
        "quarantine": False,
        "redrive_policy": True,
        "report_batch_item_failures": "unknown",
        "quarantine_after_receives": None,
    }
    assert (summary["records"], summary["redriven"], summary["kept"]) == (7, 5, 2)
    assert summary["batch_item_failures"] == 2
    assert "not json" not in json.dumps(summary)
    orders.send(range(5, 6))
    assert failed_ids(lambda_redrive.handler(orders.batch(), FakeContext())) == []
    (warm,) = log_lines(capsys.readouterr().out)
    assert (warm["redrive"], warm["redriven"]) == ("batch", 1)
    assert "cold_start" not in warm


def test_with_a_quarantine_queue_poison_records_are_moved_and_not_reported(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world, redrive_policy=False)
    quarantine = world.queue("quarantine")
    _good, poison = orders.send(range(3), poison=2)
    lambda_redrive = function(
        monkeypatch,
        world.endpoint_url,
        DELIVER_TO="bus",
        QUARANTINE_QUEUE=quarantine,
        QUEUE=orders.dlq,
    )

    response = lambda_redrive.handler(orders.batch(), FakeContext())

    assert failed_ids(response) == []
    assert orders.delivered_orders() == ["ORD-00000", "ORD-00001", "ORD-00002"]
    moved = world.visible_messages(quarantine).values()
    originals = sorted(
        m["MessageAttributes"]["REDRIVE_ORIGINAL_MESSAGE_ID"]["StringValue"] for m in moved
    )
    assert originals == sorted(poison)
    assert {m["Body"] for m in moved} == {"not json"}
    # The copies keep the DLQ's attributes, converted back from the mapping's shape.
    assert {m["MessageAttributes"]["RULE_ARN"]["StringValue"] for m in moved} == {orders.rule_arn}


def _as_the_mapping_does(
    world: World, queue_url: str, event: dict[str, Any], response: dict[str, Any]
) -> None:
    """What the mapping does with the answer: deletes the records not named; the named ones
    are visible again once the queue's visibility timeout has passed (made so at once)."""
    named = set(failed_ids(response))
    for record in event["Records"]:
        handle = record["receiptHandle"]
        if record["messageId"] in named:
            world.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            )
        else:
            world.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)


def _quarantined(world: World, quarantine: str) -> dict[str, str]:
    """Original message id -> REDRIVE_REASON of each copy in the quarantine queue."""
    return {
        m["MessageAttributes"]["REDRIVE_ORIGINAL_MESSAGE_ID"]["StringValue"]: m[
            "MessageAttributes"
        ]["REDRIVE_REASON"]["StringValue"]
        for m in world.visible_messages(quarantine).values()
    }


def test_a_held_record_is_reported_until_max_receives_then_quarantined(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The template's setup: QUARANTINE_QUEUE set, no redrive policy on the DLQ. A record
    # whose rule was deleted is held, not terminal: reported, it would come back forever.
    orders = Orders(world, redrive_policy=False)
    quarantine = world.queue("quarantine")
    (held,) = world.send(
        orders.dlq, [eventbridge_dlq_message(custom_event(9), rule=rule_arn("gone", orders.bus))]
    )
    lambda_redrive = function(
        monkeypatch,
        world.endpoint_url,
        DELIVER_TO="bus",
        QUARANTINE_QUEUE=quarantine,
        MAX_RECEIVES="3",
    )

    for receive_count in (1, 2):
        event = orders.batch()
        assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(receive_count)
        response = lambda_redrive.handler(event, FakeContext())
        assert failed_ids(response) == [held]
        assert _quarantined(world, quarantine) == {}
        _as_the_mapping_does(world, orders.dlq, event, response)
    capsys.readouterr()
    event = orders.batch()
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "3"

    assert failed_ids(lambda_redrive.handler(event, FakeContext())) == []

    reasons = _quarantined(world, quarantine)
    assert list(reasons) == [held]
    assert reasons[held].startswith("rule_not_found: rule 'gone'")
    assert reasons[held].endswith("(received 3 times)")
    assert orders.delivered_orders() == []
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["quarantined"], line["kept"], line["batch_item_failures"]) == (1, 0, 0)


def test_with_a_redrive_policy_a_held_record_is_left_to_the_policy(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world, redrive_policy=True)
    quarantine = world.queue("quarantine")
    (held,) = world.send(
        orders.dlq, [eventbridge_dlq_message(custom_event(9), rule=rule_arn("gone", orders.bus))]
    )
    lambda_redrive = function(
        monkeypatch, world.endpoint_url, QUARANTINE_QUEUE=quarantine, MAX_RECEIVES="1"
    )

    assert failed_ids(lambda_redrive.handler(orders.batch(), FakeContext())) == [held]
    assert _quarantined(world, quarantine) == {}


def test_a_transient_failure_is_reported_until_max_receives_then_quarantined(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world, redrive_policy=False)
    quarantine = world.queue("quarantine")
    good, _poison = orders.send(range(3))
    proxy.fail_entries("ThrottlingException", match=order_is(1))  # every attempt
    lambda_redrive = function(
        monkeypatch, proxy.url, DELIVER_TO="bus", QUARANTINE_QUEUE=quarantine, MAX_RECEIVES="2"
    )

    first = orders.batch()
    response = lambda_redrive.handler(first, FakeContext())
    assert failed_ids(response) == [good[1]]
    assert _quarantined(world, quarantine) == {}
    _as_the_mapping_does(world, orders.dlq, first, response)
    second = orders.batch()
    assert [record["messageId"] for record in second["Records"]] == [good[1]]
    assert failed_ids(lambda_redrive.handler(second, FakeContext())) == []

    reasons = _quarantined(world, quarantine)
    assert list(reasons) == [good[1]]
    assert reasons[good[1]].startswith("ThrottlingException")
    assert "(received 2 times)" in reasons[good[1]]
    assert orders.delivered_orders() == ["ORD-00000", "ORD-00002"]


def test_target_mode_sends_each_record_to_its_failed_target(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = world.bus("orders")
    rule = world.name("to-queue")
    target = world.queue("target")
    target_arn = world.queue_arn(target)
    world.events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["com.example.shop"]})
    )
    world.events.put_targets(
        Rule=rule, EventBusName=bus, Targets=[{"Id": "orders", "Arn": target_arn}]
    )
    dlq = world.queue("dlq")
    quarantine = world.queue("quarantine")
    world.send(
        dlq,
        [
            eventbridge_dlq_message(
                custom_event(n), rule=rule_arn(rule, bus), target_arn=target_arn
            )
            for n in range(4)
        ],
    )
    lambda_redrive = function(
        monkeypatch, world.endpoint_url, DELIVER_TO="target", QUARANTINE_QUEUE=quarantine
    )
    event = mapping_event(receive(world.sqs, dlq), world.queue_arn(dlq))

    response = lambda_redrive.handler(event, FakeContext())

    assert failed_ids(response) == []
    got = [json.loads(m["Body"]) for m in world.drain(target)]
    assert sorted(e["detail"]["orderId"] for e in got) == [f"ORD-{n:05d}" for n in range(4)]
    assert world.depth(quarantine)["visible"] == 0


def test_per_entry_failures_are_reported_and_the_accepted_are_not(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    good, _poison = orders.send(range(6))
    proxy.fail_entries("ThrottlingException", match=order_is(1))  # every attempt
    proxy.fail_entries("AccessDeniedException", match=order_is(4))
    proxy.fail_entries("InternalFailure", count=1, match=order_is(2))  # once, then accepted
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus")

    response = lambda_redrive.handler(orders.batch(), FakeContext())

    assert failed_ids(response) == [good[1], good[4]]
    assert orders.delivered_orders() == ["ORD-00000", "ORD-00002", "ORD-00003", "ORD-00005"]
    assert proxy.calls["DeleteMessageBatch"] == 0
    assert proxy.calls["ChangeMessageVisibilityBatch"] == 0


@pytest.mark.parametrize("quarantine", [False, True])
def test_poison_and_a_failed_entry_in_one_batch_only_the_undone_are_reported(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, quarantine: bool
) -> None:
    # With a redrive policy and no quarantine both stay; with a quarantine (and no policy)
    # the poison record is moved and only the throttled one stays.
    orders = Orders(world, redrive_policy=not quarantine)
    good, poison = orders.send(range(4), poison=1)
    proxy.fail_entries("ThrottlingException", match=order_is(2))  # every attempt
    settings = {"QUARANTINE_QUEUE": world.queue("quarantine")} if quarantine else {}
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus", **settings)
    event = orders.batch()

    response = lambda_redrive.handler(event, FakeContext())

    expected = {good[2]} if quarantine else {good[2], *poison}
    in_batch_order = [r["messageId"] for r in event["Records"] if r["messageId"] in expected]
    assert failed_ids(response) == in_batch_order
    assert orders.delivered_orders() == ["ORD-00000", "ORD-00001", "ORD-00003"]
    if quarantine:
        assert list(_quarantined(world, settings["QUARANTINE_QUEUE"])) == poison


def test_two_copies_of_one_event_in_a_batch_are_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = Orders(world)
    copy = eventbridge_dlq_message(custom_event(5), rule=orders.rule_arn)
    world.send(orders.dlq, [copy, copy])
    lambda_redrive = function(monkeypatch, world.endpoint_url, DELIVER_TO="bus")

    response = lambda_redrive.handler(orders.batch(), FakeContext())

    assert failed_ids(response) == []  # both done: the mapping deletes both
    assert orders.delivered_orders() == ["ORD-00005"]
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["redriven"], line["duplicates_skipped"]) == (1, 1)


def test_two_copies_of_one_event_whose_delivery_failed_are_both_reported(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    copy = eventbridge_dlq_message(custom_event(5), rule=orders.rule_arn)
    copies = world.send(orders.dlq, [copy, copy])
    orders.send(range(1))
    throttled = proxy.fail_entries("ThrottlingException", match=order_is(5))
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus")

    response = lambda_redrive.handler(orders.batch(), FakeContext())

    assert sorted(failed_ids(response)) == sorted(copies)
    assert orders.delivered_orders() == ["ORD-00000"]
    # One throttled entry in each call, each attempt: the second copy was never sent.
    assert throttled.fired == proxy.calls["PutEvents"] > 1


def test_when_every_record_fails_every_record_is_reported(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    good, _poison = orders.send(range(3))
    proxy.fail_calls("PutEvents", "AccessDeniedException")
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus")
    event = orders.batch()

    response = lambda_redrive.handler(event, FakeContext())

    assert failed_ids(response) == [record["messageId"] for record in event["Records"]]
    assert sorted(failed_ids(response)) == sorted(good)
    assert orders.delivered_orders() == []


def test_a_batch_stops_sending_before_the_function_times_out(
    world: World,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders = Orders(world)
    good, _poison = orders.send(range(7))
    # Three entries per PutEvents call (1024 bytes): three calls of 2.5 s each.
    proxy.set_latency(2.5, "PutEvents")
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus", MAX_REQUEST_BYTES="1024")
    event = orders.batch()
    order = [record["messageId"] for record in event["Records"]]
    # The first record's entry is throttled: it would be retried five times.
    proxy.fail_entries("ThrottlingException", match=order_is(good.index(order[0])))

    # 7 s left: sending stops after 2 s (a 5 s margin), so the first call, which takes
    # 2.5 s, is the only one and its throttled entry is not retried.
    response = lambda_redrive.handler(event, FakeContext(remaining_ms=7_000))

    assert proxy.calls["PutEvents"] == 1
    sent = sorted(f"ORD-{good.index(mid):05d}" for mid in order[1:3])
    assert orders.delivered_orders() == sent
    assert failed_ids(response) == [order[0], *order[3:]]
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["stopped_by"], line["max_seconds"]) == ("max_seconds", 2.0)
    assert (line["redriven"], line["kept"], line["batch_item_failures"]) == (2, 5, 5)
    assert line["seconds"] < 5


def test_rule_and_bus_answers_are_kept_across_batches_of_a_warm_container(
    world: World, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    orders.send(range(6))
    lambda_redrive = function(monkeypatch, proxy.url, DELIVER_TO="bus")

    first = lambda_redrive.handler(orders.batch(3), FakeContext())
    second = lambda_redrive.handler(orders.batch(3), FakeContext())

    assert failed_ids(first) == failed_ids(second) == []
    assert orders.delivered_orders() == [f"ORD-{n:05d}" for n in range(6)]
    assert (proxy.calls["DescribeRule"], proxy.calls["DescribeEventBus"]) == (1, 1)
    assert proxy.calls["GetQueueUrl"] == 1  # the cold start's checks, once per container


# ---- refusals at cold start ------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CONCURRENCY", "eight", "CONCURRENCY must be an integer"),
        ("CONCURRENCY", "0", "CONCURRENCY: concurrency must be between 1 and 64"),
        ("DEDUPE", "yes", "DEDUPE must be true or false"),
        ("RULE_ARNS", "arn:aws:events:us-east-1:1:rule/a", "RULE_ARNS must be a JSON array"),
        ("EVENT_PATTERN", '{"source": "not a list"}', "EVENT_PATTERN: event_pattern is not"),
        ("DELIVER_TO", "somewhere", "DELIVER_TO must be one of auto, target, bus"),
        ("AWS_SOURCE_PREFIX", "aws.again.", "AWS_SOURCE_PREFIX: aws_source_prefix must"),
    ],
)
def test_a_bad_setting_fails_the_cold_start_before_any_call(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    with pytest.raises(LambdaSettingsError, match=says):
        function(monkeypatch, proxy.url, **{variable: value})
    assert sum(proxy.calls.values()) == 0


def test_a_dlq_without_redrive_policy_and_no_quarantine_is_refused(
    world: World,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders = Orders(world, redrive_policy=False)
    orders.send(range(2), poison=1)
    lambda_redrive = function(monkeypatch, proxy.url)
    event = orders.batch()

    with pytest.raises(UnsafeSetup, match="no redrive policy and QUARANTINE_QUEUE is not set"):
        lambda_redrive.handler(event, FakeContext())

    assert proxy.mutating_calls() == 0
    assert orders.delivered_orders() == []
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["redrive"], line["error"]["code"]) == ("refused", "UnsafeSetup")


def test_filters_without_a_redrive_policy_are_refused_even_with_quarantine(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world, redrive_policy=False)
    orders.send(range(1))
    lambda_redrive = function(
        monkeypatch,
        world.endpoint_url,
        QUARANTINE_QUEUE=world.queue("quarantine"),
        ERROR_CODES='["TIMEOUT"]',
    )

    with pytest.raises(UnsafeSetup, match="filters are set"):
        lambda_redrive.handler(orders.batch(), FakeContext())


def test_a_batch_from_another_queue_than_queue_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    orders.send(range(1))
    lambda_redrive = function(monkeypatch, world.endpoint_url, QUEUE=world.queue("elsewhere"))

    with pytest.raises(UnsafeSetup, match="the batch comes from"):
        lambda_redrive.handler(orders.batch(), FakeContext())


def _mapping(world: World, queue_arn: str, response_types: list[str]) -> None:
    role = client("iam", world.endpoint_url).create_role(
        RoleName=world.name("fn"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    awslambda = client("lambda", world.endpoint_url)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    name = f"{FUNCTION_NAME}-{world.prefix}"
    awslambda.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )
    # Made after the messages were sent: moto invokes a mapping's function on send.
    awslambda.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=response_types,
    )


@pytest.mark.parametrize("reports", [False, True])
def test_a_mapping_without_report_batch_item_failures_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch, reports: bool
) -> None:
    orders = Orders(world)
    orders.send(range(2))
    _mapping(world, orders.dlq_arn, ["ReportBatchItemFailures"] if reports else [])
    lambda_redrive = function(monkeypatch, world.endpoint_url, DELIVER_TO="bus")
    context = FakeContext(function_name=f"{FUNCTION_NAME}-{world.prefix}")

    if reports:
        assert failed_ids(lambda_redrive.handler(orders.batch(), context)) == []
        assert orders.delivered_orders() == ["ORD-00000", "ORD-00001"]
    else:
        with pytest.raises(UnsafeSetup, match="does not have FunctionResponseTypes"):
            lambda_redrive.handler(orders.batch(), context)
        assert orders.delivered_orders() == []


# ---- scheduled runs ------------------------------------------------------------------


@pytest.mark.parametrize("make_event", [scheduler_event, rule_schedule_event])
def test_a_schedule_drains_the_queue_within_the_time_left(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_event: Any,
) -> None:
    orders = Orders(world)
    orders.send(range(15))
    lambda_redrive = function(
        monkeypatch,
        world.endpoint_url,
        QUEUE=orders.dlq_arn,
        DELIVER_TO="bus",
        WAIT_SECONDS="0",
        EMPTY_RECEIVES="1",
    )

    result = lambda_redrive.handler(make_event(), FakeContext(remaining_ms=40_000))

    assert (result["redriven"], result["kept"], result["stopped_by"]) == (15, 0, "drained")
    assert result["queue_url"] == orders.dlq
    assert orders.delivered_orders() == [f"ORD-{n:05d}" for n in range(15)]
    assert world.depth(orders.dlq) == {"visible": 0, "in_flight": 0}
    json.dumps(result)  # the function's answer must be JSON
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["redrive"], line["redriven"]) == ("scheduled", 15)
    assert line["max_seconds"] == 30.0  # 40 s left, less a 10 s margin


def test_overrides_in_the_event_change_one_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = Orders(world)
    orders.send(range(4))
    lambda_redrive = function(monkeypatch, world.endpoint_url, DELIVER_TO="bus", WAIT_SECONDS="0")
    event = {"redrive": {"queue": orders.dlq, "max_messages": 2, "empty_receives": 1}}

    result = lambda_redrive.handler(event, FakeContext())

    assert (result["redriven"], result["stopped_by"]) == (2, "max_messages")
    assert world.depth(orders.dlq)["visible"] == 2


def test_a_scheduled_run_that_ends_on_an_aws_error_fails_the_invocation(
    world: World,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders = Orders(world)
    orders.send(range(3))
    proxy.fail_calls("PutEvents", "AccessDeniedException")
    lambda_redrive = function(
        monkeypatch, proxy.url, QUEUE=orders.dlq, DELIVER_TO="bus", WAIT_SECONDS="0"
    )

    with pytest.raises(RedriveFailed, match="AccessDeniedException"):
        lambda_redrive.handler(scheduler_event(), FakeContext())

    (summary,) = log_lines(capsys.readouterr().out)  # one line, with the run's error
    assert (summary["redrive"], summary["redriven"], summary["stopped_by"]) == (
        "scheduled",
        0,
        "error",
    )
    assert summary["error"]["code"] == "AccessDeniedException"
    assert world.depth(orders.dlq) == {"visible": 3, "in_flight": 0}  # released, not lost


def test_a_schedule_without_a_queue_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_redrive = function(monkeypatch, world.endpoint_url)

    with pytest.raises(LambdaSettingsError, match="QUEUE is not set"):
        lambda_redrive.handler(scheduler_event(), FakeContext())


# ---- the deployment zip ------------------------------------------------------------------

# Lambda's way: import the module the handler string names, from the task root, and call
# the function it names.
BARE_RUN = """
import importlib, json, sys
task_root, sdk, event, handler_string = sys.argv[1:5]
sys.path[:0] = [task_root, sdk]
try:
    import ansible
except ImportError:
    pass
else:
    raise SystemExit("ansible is importable: " + ansible.__file__)
module_name, _, function_name = handler_string.rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)
from ansible_collections.redrive.eventbridge.plugins.module_utils import lambda_runtime
for module in (sys.modules[module_name], lambda_runtime):
    assert module.__file__.startswith(task_root), module.__file__

class Context:
    function_name = "dlq-redrive"
    aws_request_id = "r-1"
    def get_remaining_time_in_millis(self):
        return 30000

print("RESULT " + json.dumps(handler(json.loads(event), Context())))
"""

# What the Lambda Python runtime has besides the function's code: boto3 and its dependencies.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def _sdk_only(target: Path) -> Path:
    site = Path(boto3.__file__).resolve().parents[1]
    target.mkdir()
    for name in SDK_PACKAGES:
        (target / name).symlink_to(site / name)
    return target


def _template_handler() -> str:
    template = yaml.safe_load(TEMPLATE.read_text())
    return str(template["Resources"]["Function"]["Properties"]["Handler"])


def _drain_in_a_bare_interpreter(world: World, task_root: Path, sdk: Path) -> None:
    """A scheduled run of the handler the template names, imported from `task_root` by a
    Python that has only the standard library and the SDK: three events go back."""
    orders = Orders(world)
    orders.send(range(3))
    env = {
        "PATH": os.environ.get("PATH", ""),
        **connection_env(world.endpoint_url),
        "QUEUE": orders.dlq,
        "DELIVER_TO": "bus",
        "WAIT_SECONDS": "0",
        "EMPTY_RECEIVES": "1",
    }
    event = json.dumps(scheduler_event())

    ran = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            BARE_RUN,
            str(task_root),
            str(sdk),
            event,
            _template_handler(),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout.split("RESULT ", 1)[1])
    assert (result["redriven"], result["stopped_by"]) == (3, "drained")
    assert orders.delivered_orders() == ["ORD-00000", "ORD-00001", "ORD-00002"]


def test_the_built_zip_runs_without_ansible(world: World, tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, str(BUILD_ZIP), str(tmp_path / "function.zip")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    archive = tmp_path / "function.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert "ansible_collections/redrive/eventbridge/handlers/lambda_redrive.py" in names
    assert not [n for n in names if "ansible_module" in n or "boto" in n or n.endswith(".pyc")]
    # Lambda unpacks the zip into the task root and puts that on sys.path.
    task_root = tmp_path / "task"
    zipfile.ZipFile(archive).extractall(task_root)

    _drain_in_a_bare_interpreter(world, task_root, _sdk_only(tmp_path / "sdk"))


# ---- the example template ------------------------------------------------------------


def test_the_template_passes_cfn_lint() -> None:
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_template_wires_the_mapping_as_the_function_needs() -> None:
    from ansible_collections.redrive.eventbridge.plugins.module_utils.lambda_runtime import (
        MAX_RECEIVES_VARIABLE,
        OPTION_BY_VARIABLE,
        QUEUE_VARIABLE,
    )

    template = yaml.safe_load(TEMPLATE.read_text())
    resources = template["Resources"]
    function = resources["Function"]["Properties"]
    mapping = resources["EventSourceMapping"]["Properties"]
    dlq = resources["DeadLetterQueue"]["Properties"]

    assert function["Handler"] == (
        "ansible_collections.redrive.eventbridge.handlers.lambda_redrive.handler"
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert "MaximumConcurrency" in mapping["ScalingConfig"]
    # AWS: the source queue's visibility timeout at least six times the function timeout
    # (plus the batching window, when there is one).
    window = mapping.get("MaximumBatchingWindowInSeconds", 0)
    assert dlq["VisibilityTimeout"] >= 6 * function["Timeout"] + window
    settings = set(function["Environment"]["Variables"])
    assert settings <= {QUEUE_VARIABLE, MAX_RECEIVES_VARIABLE, *OPTION_BY_VARIABLE}
    # No redrive policy on the DLQ: the quarantine and MAX_RECEIVES end every round trip.
    assert "RedrivePolicy" not in dlq
    assert {"QUARANTINE_QUEUE", MAX_RECEIVES_VARIABLE} <= settings
    schedule_input = json.loads(resources["Schedule"]["Properties"]["Target"]["Input"])
    assert set(schedule_input) == {"redrive"}


def test_the_wheel_runs_the_handler_the_handler_string_names_without_ansible(
    world: World, tmp_path: Path
) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    # A wheel is unpacked into site-packages as it is: the same import path as Lambda's.
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "ansible_collections/redrive/eventbridge/handlers/lambda_redrive.py").is_file()

    _drain_in_a_bare_interpreter(world, site, _sdk_only(tmp_path / "sdk"))
