"""The seed case end to end through real ansible-playbook against moto over HTTP:
CloudTrail S3 events to a rule on `aws.s3` whose target failed, and order events on a
custom bus whose target has an InputTransformer, each with a healthy neighbour.

Success is measured at the targets: every failed target gets every event exactly once, as
EventBridge would have delivered it; the healthy targets get nothing; the DLQs are empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.ansible_run import run_playbook
from tests.support.aws_cli import aws, cli_env
from tests.support.events import (
    ACCOUNT,
    body_of,
    custom_event,
    eventbridge_dlq_message,
    lambda_dlq_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.world import World, client

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
FAST = {"wait_seconds": 0, "empty_receives": 1}
EVENTS = 40
S3_PATTERN = {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"]}
SHOP_PATTERN = {"source": ["com.example.shop"]}
# Quoted placeholders: the form moto's rule delivery renders like AWS (a second oracle).
TEMPLATE = '{"order": "<order>", "tier": "<tier>", "rule": "<aws.events.rule-name>"}'


@dataclass
class Seed:
    s3_dlq: str
    shop_dlq: str
    s3_failed: str  # the queue behind the aws.s3 rule whose delivery failed
    s3_healthy: str
    shop_failed: str  # the queue with an InputTransformer on the orders bus
    shop_healthy: str  # a second rule on the orders bus (analytics)
    shop_bus: str
    s3_events: list[dict[str, Any]]
    shop_events: list[dict[str, Any]]


def rule_with_targets(
    world: World, bus: str, name: str, pattern: dict[str, Any], targets: list[dict[str, Any]]
) -> str:
    world.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    world.events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return rule_arn(name, bus)


def seed(world: World) -> Seed:
    queues = {name: world.queue(name) for name in ("ingest", "audit", "billing", "analytics")}
    arns = {name: world.queue_arn(url) for name, url in queues.items()}
    s3_rule = rule_with_targets(
        world,
        "default",
        world.name("s3-to-ingest"),
        S3_PATTERN,
        [{"Id": "ingest", "Arn": arns["ingest"]}, {"Id": "audit", "Arn": arns["audit"]}],
    )
    bus = world.bus("orders")
    billing_target = {
        "Id": "billing",
        "Arn": arns["billing"],
        "InputTransformer": {
            "InputPathsMap": {"order": "$.detail.orderId", "tier": "$.detail.customer.tier"},
            "InputTemplate": TEMPLATE,
        },
    }
    shop_rule = rule_with_targets(
        world, bus, world.name("to-billing"), SHOP_PATTERN, [billing_target]
    )
    rule_with_targets(
        world, bus, world.name("analytics"), SHOP_PATTERN, [{"Id": "a", "Arn": arns["analytics"]}]
    )
    s3_events = [s3_cloudtrail_event(f"in/{n}.pdf") for n in range(EVENTS)]
    shop_events = [custom_event(n) for n in range(EVENTS)]
    s3_dlq, shop_dlq = world.queue("s3-dlq"), world.queue("shop-dlq")
    world.send(
        s3_dlq,
        [eventbridge_dlq_message(e, rule=s3_rule, target_arn=arns["ingest"]) for e in s3_events],
    )
    world.send(
        shop_dlq,
        [
            eventbridge_dlq_message(e, rule=shop_rule, target_arn=arns["billing"])
            for e in shop_events
        ],
    )
    return Seed(
        s3_dlq,
        shop_dlq,
        queues["ingest"],
        queues["audit"],
        queues["billing"],
        queues["analytics"],
        bus,
        s3_events,
        shop_events,
    )


def redrive(world: World, tmp: Path, queue: str, **options: Any) -> dict[str, Any]:
    task = {"name": "redrive", MODULE: {"queue": queue, **FAST, **options}, "register": "out"}
    run = run_playbook(tmp, [task], world.endpoint_url)
    assert run.status("redrive") == "ok", run.result("redrive")
    return run.result("redrive")


def bodies(world: World, queue: str) -> list[str]:
    return [message["Body"] for message in world.drain(queue)]


def rendered_template(event: dict[str, Any], rule_name: str) -> str:
    """The template rendered by hand: what the billing queue must receive, as text."""
    detail = event["detail"]
    return (
        TEMPLATE.replace("<order>", detail["orderId"])
        .replace("<tier>", detail["customer"]["tier"])
        .replace("<aws.events.rule-name>", rule_name)
    )


def expected_billing(event: dict[str, Any], rule_name: str) -> dict[str, Any]:
    detail = event["detail"]
    return {"order": detail["orderId"], "tier": detail["customer"]["tier"], "rule": rule_name}


def test_each_failed_target_gets_its_events_once_and_nobody_else_gets_anything(
    world: World, tmp_path: Path
) -> None:
    seeded = seed(world)

    s3 = redrive(world, tmp_path, seeded.s3_dlq)
    shop = redrive(world, tmp_path, seeded.shop_dlq)

    assert (s3["redriven"], s3["kept"], shop["redriven"], shop["kept"]) == (EVENTS, 0, EVENTS, 0)
    assert s3["by_target"] == {world.queue_arn(seeded.s3_failed): {"redriven": EVENTS}}
    assert s3["by_bus"] == {} and s3["sources_rewritten"] == 0
    # The event exactly as EventBridge delivered it: the DLQ body, byte for byte.
    assert sorted(bodies(world, seeded.s3_failed)) == sorted(body_of(e) for e in seeded.s3_events)
    billing = [json.loads(body) for body in bodies(world, seeded.shop_failed)]
    rule_name = world.name("to-billing")
    assert sorted(billing, key=lambda b: b["order"]) == [
        expected_billing(event, rule_name) for event in seeded.shop_events
    ]
    assert bodies(world, seeded.s3_healthy) == [] and bodies(world, seeded.shop_healthy) == []
    for dlq in (seeded.s3_dlq, seeded.shop_dlq):
        assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    assert s3["api_calls"]["ListTargetsByRule"] == 1  # once per rule per run

    again = redrive(world, tmp_path, seeded.s3_dlq)
    assert (again["changed"], again["received"]) == (False, 0)


def test_the_transformer_renders_what_moto_rule_delivery_renders(
    world: World, tmp_path: Path
) -> None:
    """moto's own rule delivery is a second oracle for this (quoted) template."""
    seeded = seed(world)
    event = seeded.shop_events[0]
    world.events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"], ensure_ascii=False),
                "EventBusName": seeded.shop_bus,
            }
        ]
    )
    by_moto = [json.loads(body) for body in bodies(world, seeded.shop_failed)]
    bodies(world, seeded.shop_healthy)
    world.drain(seeded.shop_dlq)
    world.send(seeded.shop_dlq, [_dlq_copy(world, seeded, event)])

    redrive(world, tmp_path, seeded.shop_dlq)

    ours = [json.loads(body) for body in bodies(world, seeded.shop_failed)]
    # moto leaves <aws.events.rule-name> unrendered (test_transform_oracle lists it).
    assert [o.pop("rule") for o in ours] == [world.name("to-billing")]
    assert [m.pop("rule") for m in by_moto] == ["<aws.events.rule-name>"]
    assert ours == by_moto


def _dlq_copy(world: World, seeded: Seed, event: dict[str, Any]) -> dict[str, Any]:
    rule = rule_arn(world.name("to-billing"), seeded.shop_bus)
    return eventbridge_dlq_message(event, rule=rule, target_arn=world.queue_arn(seeded.shop_failed))


def test_bus_mode_keeps_what_would_no_longer_reach_its_rule(world: World, tmp_path: Path) -> None:
    seeded = seed(world)

    kept = redrive(world, tmp_path, seeded.s3_dlq, deliver_to="bus")

    assert (kept["redriven"], kept["kept"], kept["changed"]) == (0, EVENTS, False)
    reasons = {item["reason"] for item in kept["kept_messages"][:3]}
    assert all(
        r.startswith("no_longer_matches_rule: source: redrive.aws.s3 not in [aws.s3]")
        for r in reasons
    )
    assert "deliver_to: target" in next(iter(reasons))
    assert world.depth(seeded.s3_dlq)["visible"] == EVENTS
    assert kept["api_calls"]["DescribeRule"] == 1

    put = redrive(world, tmp_path, seeded.s3_dlq, deliver_to="bus", when_rule_unmatched="put")

    assert (put["redriven"], put["unmatched_rule_put"], put["sources_rewritten"]) == (
        EVENTS,
        EVENTS,
        EVENTS,
    )
    # Put as asked, it reaches nobody: the rewritten source matches no rule.
    assert bodies(world, seeded.s3_failed) == [] and bodies(world, seeded.s3_healthy) == []
    assert world.depth(seeded.s3_dlq)["visible"] == 0


def test_bus_mode_reaches_the_healthy_neighbour_again(world: World, tmp_path: Path) -> None:
    """Why target mode exists: on the bus, the healthy analytics rule gets every event again."""
    seeded = seed(world)

    result = redrive(world, tmp_path, seeded.shop_dlq, deliver_to="bus")

    assert result["redriven"] == EVENTS
    assert len(bodies(world, seeded.shop_failed)) == EVENTS
    assert len(bodies(world, seeded.shop_healthy)) == EVENTS


def test_check_mode_and_the_lookup_show_the_route_target_and_rule_match(
    world: World, tmp_path: Path
) -> None:
    seeded = seed(world)
    lambda_dlq = world.queue("lambda-dlq")  # names no target: `auto` puts it on the bus
    world.send(lambda_dlq, [lambda_dlq_message(seeded.shop_events[0])])
    s3_items = f"query('{LOOKUP}', '{seeded.s3_dlq}', max_messages=3)"
    bus_items = f"query('{LOOKUP}', '{seeded.s3_dlq}', max_messages=3, deliver_to='bus')"
    tasks = [
        {
            "name": "preview",
            MODULE: {"queue": seeded.shop_dlq, **FAST},
            "check_mode": True,
            "register": "out",
        },
        {
            "name": "preview on the bus",
            MODULE: {"queue": lambda_dlq, "event_bus": seeded.shop_bus, **FAST},
            "check_mode": True,
            "register": "out",
        },
        {"name": "look", "ansible.builtin.set_fact": {"items": f"{{{{ {s3_items} }}}}"}},
        {
            "name": "look on the bus",
            "ansible.builtin.set_fact": {"items": f"{{{{ {bus_items} }}}}"},
        },
    ]

    run = run_playbook(tmp_path, tasks, world.endpoint_url)

    preview = run.result("preview")
    # Nothing is hidden in check mode, so SQS shows a sample: what it saw, message by message.
    assert preview["redriven"] == preview["inspected"] == len(preview["messages"]) > 0
    assert preview["changed"] is True and preview["complete"] is (preview["inspected"] == EVENTS)
    rule_name = world.name("to-billing")
    sizes = {len(rendered_template(e, rule_name).encode()) for e in seeded.shop_events}
    for message in preview["messages"]:
        assert message["route"] == "target" and message["target"]["type"] == "sqs"
        assert message["payload_size"] in sizes
        assert "route_reason" not in message
    on_bus_preview = run.result("preview on the bus")
    (message,) = on_bus_preview["messages"]
    reason = "the message names no target (set target_arn)"
    assert (message["route"], message["event_bus"], message["route_reason"]) == (
        "bus",
        seeded.shop_bus,
        reason,
    )
    assert on_bus_preview["bus_route_reasons"] == {reason: 1}
    items = run.result("look")["ansible_facts"]["items"]
    assert {(i["route"], i["target"]["type"], i["redrivable"]) for i in items} == {
        ("target", "sqs", True)
    }
    assert json.loads(items[0]["payload"]) in [json.loads(body_of(e)) for e in seeded.s3_events]
    on_bus = run.result("look on the bus")["ansible_facts"]["items"]
    assert {(i["route"], i["matches_rule"], i["unmatched_field"]) for i in on_bus} == {
        ("bus", False, "source: redrive.aws.s3 not in [aws.s3]")
    }
    for dlq in (seeded.s3_dlq, seeded.shop_dlq):
        assert world.depth(dlq)["visible"] == EVENTS


@pytest.mark.parametrize(
    ("pattern", "wanted"),
    [
        ({"detail": {"total": [{"numeric": [">", 2400, "<", 2401]}]}}, {2}),
        ({"detail": {"customer": {"tier": [{"anything-but": ["gold"]}]}}}, {1, 3}),
        (
            {"detail": {"orderId": [{"prefix": "ORD-0000"}]}, "source": ["com.example.shop"]},
            {0, 1, 2, 3},
        ),
        ({"detail": {"items": {"sku": ["TEA-009"]}}}, {3}),
        (
            {
                "$or": [
                    {"detail": {"note": ["urgent"]}},
                    {"detail": {"customer": {"tier": ["bronze"]}}},
                ]
            },
            {1, 3},
        ),
    ],
)
def test_event_pattern_selects_exactly_the_matching_messages(
    world: World, tmp_path: Path, pattern: dict[str, Any], wanted: set[int]
) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    events = [custom_event(n) for n in range(4)]
    events[1]["detail"]["customer"]["tier"] = "silver"
    events[2]["detail"]["total"] = 2400.5
    events[3]["detail"]["customer"]["tier"] = "bronze"
    events[3]["detail"]["items"].append({"sku": "TEA-009", "name": "煎茶", "qty": 1, "price": 800})
    events[1]["detail"]["note"] = "urgent"
    world.send(dlq, [eventbridge_dlq_message(event) for event in events])

    result = redrive(
        world, tmp_path, dlq, deliver_to="bus", event_pattern=pattern, when_rule_unmatched="put"
    )

    delivered = {int(e["detail"]["orderId"][-1]) for e in world.captured_events(capture)}
    assert delivered == wanted
    assert (result["redriven"], result["filtered_out"]) == (len(wanted), 4 - len(wanted))
    assert world.depth(dlq)["visible"] == 4 - len(wanted)


def test_a_malformed_event_pattern_fails_before_any_call(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    task = {
        "name": "redrive",
        MODULE: {"queue": dlq, "event_pattern": {"detail": {"total": [{"numeric": [">", "x"]}]}}},
        "register": "out",
        "ignore_errors": True,
    }
    run = run_playbook(tmp_path, [task], world.endpoint_url)
    assert run.status("redrive") == "failed"
    assert "event_pattern" in run.result("redrive")["msg"]
    assert "detail.total" in run.result("redrive")["msg"]


def test_the_same_through_the_aws_cli(world: World, tmp_path: Path) -> None:
    seeded = seed(world)
    env = cli_env(tmp_path)

    for dlq in (seeded.s3_dlq, seeded.shop_dlq):
        run = aws(env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq,
                  "--wait-seconds", "0", "--empty-receives", "1")  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["redriven"] == EVENTS

    assert sorted(bodies(world, seeded.s3_failed)) == sorted(body_of(e) for e in seeded.s3_events)
    billing = sorted((json.loads(b) for b in bodies(world, seeded.shop_failed)), key=str)
    rule_name = world.name("to-billing")
    assert billing == sorted((expected_billing(e, rule_name) for e in seeded.shop_events), key=str)
    assert bodies(world, seeded.s3_healthy) == [] and bodies(world, seeded.shop_healthy) == []
    assert world.depth(seeded.s3_dlq)["visible"] == world.depth(seeded.shop_dlq)["visible"] == 0


def test_an_aws_event_for_a_bus_target_is_held_unless_asked_for(
    world: World, tmp_path: Path
) -> None:
    """EventBridge forwards `aws.s3` to a bus target as it is; PutEvents can only send
    `redrive.aws.s3`, which the rules there do not match. Held by default, sent with put."""
    other = client("events", world.endpoint_url, region="eu-west-1")
    other_sqs = client("sqs", world.endpoint_url, region="eu-west-1")
    central = world.name("central")
    central_arn = other.create_event_bus(Name=central)["EventBusArn"]
    capture = other_sqs.create_queue(QueueName=world.name("central-capture"))["QueueUrl"]
    capture_arn = other_sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    other.put_rule(
        Name="everything", EventBusName=central, EventPattern=json.dumps({"account": [ACCOUNT]})
    )
    other.put_targets(
        Rule="everything",
        EventBusName=central,
        Targets=[{"Id": "c", "Arn": capture_arn}],
    )
    forward = rule_with_targets(
        world,
        "default",
        world.name("forward"),
        {"account": [ACCOUNT]},
        [{"Id": "central", "Arn": central_arn}],
    )
    dlq = world.queue("dlq")
    s3, shop = s3_cloudtrail_event("in/1.pdf"), custom_event(1)
    world.send(
        dlq, [eventbridge_dlq_message(e, rule=forward, target_arn=central_arn) for e in (s3, shop)]
    )

    held = redrive(world, tmp_path, dlq)

    (forwarded,) = captured(other_sqs, capture)
    assert (forwarded["source"], forwarded["detail"]) == (shop["source"], shop["detail"])
    assert held["redriven"] == 1
    (kept,) = held["kept_messages"]
    assert kept["code"] == "source_rewritten_for_bus_target"
    assert "redrive.aws.s3" in kept["reason"] and "when_rule_unmatched: put" in kept["reason"]
    assert world.depth(dlq)["visible"] == 1

    put = redrive(world, tmp_path, dlq, when_rule_unmatched="put")

    (sent,) = captured(other_sqs, capture)
    assert (sent["source"], sent["detail"]) == ("redrive.aws.s3", s3["detail"])
    assert (put["redriven"], put["unmatched_rule_put"]) == (1, 1)
    assert put["rule_check_put_reasons"] == {"source_rewritten_for_bus_target": 1}
    assert world.depth(dlq)["visible"] == 0


def captured(sqs: Any, queue: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_a_deleted_rule_is_reported_as_such_and_put_only_when_asked(
    world: World, tmp_path: Path
) -> None:
    seeded = seed(world)
    name = world.name("s3-to-ingest")
    world.events.remove_targets(Rule=name, EventBusName="default", Ids=["ingest", "audit"])
    world.events.delete_rule(Name=name, EventBusName="default")

    kept = redrive(world, tmp_path, seeded.s3_dlq, deliver_to="bus")

    assert (kept["redriven"], kept["kept"]) == (0, EVENTS)
    assert {item["code"] for item in kept["kept_messages"]} == {"rule_not_found"}
    assert kept["kept_messages"][0]["reason"] == (
        f"rule_not_found: rule {name!r} on bus 'default' does not exist"
    )
    assert world.depth(seeded.s3_dlq)["visible"] == EVENTS

    put = redrive(world, tmp_path, seeded.s3_dlq, deliver_to="bus", when_rule_unmatched="put")

    assert (put["redriven"], put["unmatched_rule_put"], put["unchecked_rule_put"]) == (
        EVENTS,
        EVENTS,
        0,
    )
    assert put["rule_check_put_reasons"] == {"rule_not_found": EVENTS}
    assert bodies(world, seeded.s3_failed) == [] and world.depth(seeded.s3_dlq)["visible"] == 0


def test_a_scheduled_rule_has_no_pattern_to_reach(world: World, tmp_path: Path) -> None:
    """A DLQ message of a scheduled rule's target: put on the bus, it reaches no rule."""
    failed = world.queue("nightly-report")
    name = world.name("nightly")
    world.events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")
    world.events.put_targets(Rule=name, Targets=[{"Id": "r", "Arn": world.queue_arn(failed)}])
    dlq = world.queue("nightly-dlq")
    scheduled = [
        custom_event(n, source="aws.events", **{"detail-type": "Scheduled Event"}) for n in range(3)
    ]
    world.send(
        dlq,
        [
            eventbridge_dlq_message(e, rule=rule_arn(name), target_arn=world.queue_arn(failed))
            for e in scheduled
        ],
    )

    kept = redrive(world, tmp_path, dlq, deliver_to="bus")
    put = redrive(world, tmp_path, dlq, deliver_to="bus", when_rule_unmatched="put")

    assert (kept["redriven"], kept["kept"]) == (0, 3)
    assert {item["code"] for item in kept["kept_messages"]} == {"rule_has_no_pattern"}
    assert kept["kept_messages"][0]["reason"].startswith(
        "rule_has_no_pattern: the rule has no event pattern (rate(5 minutes)) "
        f"(rule {name} on default)"
    )
    assert (put["redriven"], put["unmatched_rule_put"], put["rule_check_put_reasons"]) == (
        3,
        3,
        {"rule_has_no_pattern": 3},
    )
    # On AWS a rule with only a ScheduleExpression gets no PutEvents event; moto hands every
    # put event on the bus to such a rule's targets, so what `failed` received says nothing.
    assert world.depth(dlq)["visible"] == 0
