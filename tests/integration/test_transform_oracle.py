"""moto's rule delivery to an SQS target as a second oracle for target_payload.

Each case puts one event on a bus whose rule has two SQS targets: `plain` (no input
settings, the event as moto delivers it) and `shaped` (the case's settings). The event
as a DLQ body would hold it is rebuilt from `plain` (moto's delivered envelope lacks
`account` and escapes non-ASCII text, DESIGN.md §4), and target_payload's answer for
`shaped` is compared with what the `shaped` queue received.

Where moto agrees with the AWS documentation the two must be equal as JSON (moto
re-serialises what it delivers, so the text itself differs). Where it does not, the
case below says what AWS documents, what moto does, and asserts both, so that nobody
"fixes" target_payload toward moto - and so that a moto that changes is noticed.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions
import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.transform import (
    RuleContext,
    target_payload,
)
from tests.support.events import ACCOUNT, REGION
from tests.support.world import CREDENTIALS, World

DETAIL = {
    "order": "ORD-00001",
    "customer": {"name": "山田 太郎", "tier": "gold"},
    "items": [{"sku": "TEA-001", "qty": 2}, {"sku": "CUP-002", "qty": 1}],
    "nums": [1, 2],
    "total": 2401.5,
    "zero": 0,
    "gift": True,
}
PATHS = {
    "order": "$.detail.order",
    "name": "$.detail.customer.name",
    "tier": "$.detail.customer.tier",
    "customer": "$.detail.customer",
    "skus": "$.detail.items[*].sku",
    "nums": "$.detail.nums",
    "total": "$.detail.total",
    "zero": "$.detail.zero",
    "gift": "$.detail.gift",
    "time": "$.time",
    "missing": "$.detail.not-there",
}
EVENT_TIME = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def shaped_by(template: str) -> dict[str, Any]:
    return {"InputTransformer": {"InputPathsMap": PATHS, "InputTemplate": template}}


@dataclass(frozen=True)
class Delivery:
    """One event through moto's rule delivery, and what target_payload makes of it."""

    event_text: str  # the event as a DLQ body holds it
    event: dict[str, Any]
    context: RuleContext
    target: dict[str, Any]  # the shaped target as ListTargetsByRule returns it
    shaped: list[str]  # the bodies moto delivered to the shaped target
    put_status: int  # moto's HTTP status for PutEvents

    def ours(self) -> str:
        return target_payload(self.event_text, self.event, self.target, self.context)


def deliver(world: World, case: str, settings: dict[str, Any]) -> Delivery:
    bus = world.bus(f"oracle-{case}")
    rule = world.name(f"oracle-{case}")
    source = f"com.example.oracle.{case}"
    rule_arn = world.events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [source]})
    )["RuleArn"]
    plain_url, shaped_url = world.queue(f"{case}-plain"), world.queue(f"{case}-shaped")
    world.events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[
            {"Id": "plain", "Arn": world.queue_arn(plain_url)},
            {"Id": "shaped", "Arn": world.queue_arn(shaped_url), **settings},
        ],
    )
    status = _put_event(world, bus, source)
    (plain,) = [message["Body"] for message in world.drain(plain_url)]
    event = _dlq_event(json.loads(plain))
    (target,) = [
        target
        for target in world.events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
        if target["Id"] == "shaped"
    ]
    return Delivery(
        event_text=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
        event=event,
        context=RuleContext(rule_arn=rule_arn, rule_name=rule, ingestion_time=event["time"]),
        target=target,
        shaped=[message["Body"] for message in world.drain(shaped_url)],
        put_status=status,
    )


def _put_event(world: World, bus: str, source: str) -> int:
    # One attempt: a retried PutEvents would deliver the plain copy again.
    events = boto3.client(
        "events",
        endpoint_url=world.endpoint_url,
        region_name=REGION,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
        **CREDENTIALS,
    )
    entry = {
        "EventBusName": bus,
        "Source": source,
        "DetailType": "注文確定",
        "Detail": json.dumps(DETAIL, ensure_ascii=False),
        "Resources": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"],
        "Time": EVENT_TIME,
    }
    try:
        response = events.put_events(Entries=[entry])
    except botocore.exceptions.ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
    assert response["FailedEntryCount"] == 0
    return 200


def _dlq_event(delivered: dict[str, Any]) -> dict[str, Any]:
    """The event in EventBridge's own member order, with the account moto leaves out."""
    return {
        "version": delivered["version"],
        "id": delivered["id"],
        "detail-type": delivered["detail-type"],
        "source": delivered["source"],
        "account": ACCOUNT,
        "time": delivered["time"],
        "region": delivered["region"],
        "resources": delivered["resources"],
        "detail": delivered["detail"],
    }


# --- Where moto agrees with the documentation -------------------------------

AGREEING = {
    # UG "Simple string" / "Including reserved variables in a string", without the
    # predefined variables moto does not fill.
    "quoted_string": shaped_by('"order <order> for <name> (<tier>)"'),
    # UG "JSON with strings and variables": strings in quotes, an object and numbers out.
    "json_mixed": shaped_by(
        '{"order": "<order>", "who": "<name>", "customer": <customer>, "total": <total>}'
    ),
    # Recorded against AWS: a quoted template that starts with special characters.
    "special_start": shaped_by('"{[/Check for <order>"'),
    # A 0 is text like any other number inside quotes.
    "zero_in_string": shaped_by('"zero is <zero>"'),
    # UG "JSON with a mix of variables and static information".
    "static_mix": shaped_by('{"order": "<order>", "list": [ 9, "<tier>", true ], "fixed": "Yes"}'),
}


@pytest.mark.parametrize("case", sorted(AGREEING))
def test_moto_agrees(world: World, case: str) -> None:
    delivery = deliver(world, case, AGREEING[case])
    assert delivery.put_status == 200
    (body,) = delivery.shaped
    assert json.loads(body) == json.loads(delivery.ours())


def test_moto_reserialises_what_it_delivers(world: World) -> None:
    # moto json.loads the filled template and json.dumps it again: its spacing, and
    # non-ASCII as \\u escapes. EventBridge keeps the template's text and the event's
    # characters (UG examples; DESIGN.md §4), as target_payload does.
    delivery = deliver(world, "reserialised", AGREEING["json_mixed"])
    (body,) = delivery.shaped
    ours = delivery.ours()
    assert ours == (
        '{"order": "ORD-00001", "who": "山田 太郎", '
        '"customer": {"name":"山田 太郎","tier":"gold"}, "total": 2401.5}'
    )
    assert body == json.dumps(json.loads(ours))
    assert body != ours


# --- Where moto does not -----------------------------------------------------


# What moto did with a case, asserted against the delivery.
MotoCheck = Callable[[Delivery], None]


@dataclass(frozen=True)
class Difference:
    settings: dict[str, Any]
    why: str  # what AWS documents against what moto does
    ours: Callable[[Delivery], str]  # what target_payload delivers, as documented
    moto: MotoCheck


def text(value: str) -> Callable[[Delivery], str]:
    return lambda _: value


def moto_answers_500(delivery: Delivery) -> None:
    assert delivery.put_status == 500
    assert delivery.shaped == []


def moto_delivers(body: Callable[[Delivery], str]) -> MotoCheck:
    def check(delivery: Delivery) -> None:
        assert delivery.put_status == 200
        assert delivery.shaped == [body(delivery)]

    return check


def moto_delivers_epoch_ingestion_time(delivery: Delivery) -> None:
    (body,) = delivery.shaped
    assert float(json.loads(body)) > EVENT_TIME.timestamp()


def moto_delivers_its_own_record(delivery: Delivery) -> None:
    (body,) = delivery.shaped
    record = json.loads(body)["e"]
    assert record["time"] == int(EVENT_TIME.timestamp())
    assert "ingestion-time" in record
    assert record != delivery.event


def moto_delivers_the_whole_event(delivery: Delivery) -> None:
    (body,) = delivery.shaped
    assert json.loads(body)["id"] == delivery.event["id"]
    assert json.loads(body)["detail"] == DETAIL


DIFFERENCES = {
    "unquoted_string": Difference(
        shaped_by('{"order": <order>}'),
        "UG: EventBridge adds the quotes to a string variable outside quotes; moto "
        "leaves the string bare, fails to parse the result and answers HTTP 500",
        text('{"order": "ORD-00001"}'),
        moto_answers_500,
    ),
    "plain_text": Difference(
        shaped_by("<order> for <name>"),
        "API shows a plain-text template; moto requires the filled template to be JSON",
        text("ORD-00001 for 山田 太郎"),
        moto_answers_500,
    ),
    "multi_line": Difference(
        shaped_by('"Order: <order>"\n"Tier: <tier>"'),
        "UG: multi-line text output wraps each line in quotes; moto requires one JSON value",
        text('"Order: ORD-00001"\n"Tier: gold"'),
        moto_answers_500,
    ),
    "object_in_string": Difference(
        shaped_by('{"text": "customer <customer>"}'),
        "UG: an object referenced in a string loses its internal quotes; moto inserts "
        "the object's JSON, which breaks the string",
        text('{"text": "customer {name:山田 太郎,tier:gold}"}'),
        moto_answers_500,
    ),
    "boolean_unquoted": Difference(
        shaped_by('{"gift": <gift>}'),
        "A boolean goes in as JSON; moto fails on a value that is not text (HTTP 500)",
        text('{"gift": true}'),
        moto_answers_500,
    ),
    "event_without_detail": Difference(
        shaped_by('{"e": <aws.events.event>}'),
        "UG: <aws.events.event> is the event without detail; moto does not know it, "
        "leaves the placeholder and fails to parse the result",
        lambda d: (
            '{"e": {'
            f'"id":"{d.event["id"]}","account":"{ACCOUNT}","detailType":"注文確定",'
            f'"time":"{d.event["time"]}","source":"{d.event["source"]}","region":"{REGION}",'
            f'"resources":["arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"],"version":"0"'
            "}}"
        ),
        moto_answers_500,
    ),
    "missing_path": Difference(
        shaped_by('"missing: <missing>."'),
        "UG: a variable whose path is not in the event does not appear in the output; "
        "moto leaves the placeholder",
        text('"missing: ."'),
        moto_delivers(text('"missing: <missing>."')),
    ),
    "rule_name_and_arn": Difference(
        shaped_by('"<aws.events.rule-name> at <aws.events.rule-arn>"'),
        "UG: predefined rule name and ARN; moto fills neither",
        lambda d: json.dumps(f"{d.context.rule_name} at {d.context.rule_arn}"),
        moto_delivers(text('"<aws.events.rule-name> at <aws.events.rule-arn>"')),
    ),
    "ingestion_time": Difference(
        shaped_by('"<aws.events.event.ingestion-time>"'),
        "UG: an ISO 8601 timestamp; moto renders its epoch seconds",
        lambda d: json.dumps(d.context.ingestion_time),
        moto_delivers_epoch_ingestion_time,
    ),
    "event_time": Difference(
        shaped_by('"at <time>"'),
        "The event's time is the ISO 8601 text of its envelope; moto holds epoch seconds",
        text('"at 2026-11-21T12:00:00Z"'),
        moto_delivers(text(f'"at {int(EVENT_TIME.timestamp())}"')),
    ),
    "event_json": Difference(
        shaped_by('{"e": <aws.events.event.json>}'),
        "UG: the full original event; moto inserts its internal record (epoch time, "
        "an extra ingestion-time member)",
        lambda d: '{"e": ' + d.event_text + "}",
        moto_delivers_its_own_record,
    ),
    "number_array": Difference(
        shaped_by('{"nums": <nums>}'),
        "An array goes in as the JSON it is; moto turns its numbers into strings",
        text('{"nums": [1,2]}'),
        moto_delivers(text(json.dumps({"nums": ["1", "2"]}))),
    ),
    "wildcard": Difference(
        shaped_by('"skus: <skus>"'),
        "UG supports wildcards: every match (in a string, an array without its quotes); "
        "moto takes the first match only",
        text('"skus: [TEA-001,CUP-002]"'),
        moto_delivers(text('"skus: TEA-001"')),
    ),
    "constant_input": Difference(
        {"Input": '{"action": "nightly-report"}'},
        "API: Input is sent and nothing of the event; moto ignores Input and sends the event",
        text('{"action": "nightly-report"}'),
        moto_delivers_the_whole_event,
    ),
    "input_path": Difference(
        {"InputPath": "$.detail.customer"},
        "API: InputPath sends the part of the event at the path; moto ignores it",
        text('{"name":"山田 太郎","tier":"gold"}'),
        moto_delivers_the_whole_event,
    ),
}


@pytest.mark.parametrize("case", sorted(DIFFERENCES))
def test_moto_differs_from_the_documentation(world: World, case: str) -> None:
    difference = DIFFERENCES[case]
    delivery = deliver(world, case, difference.settings)
    assert delivery.ours() == difference.ours(delivery), difference.why
    difference.moto(delivery)
