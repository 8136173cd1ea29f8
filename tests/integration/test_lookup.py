"""The dlq_messages lookup through real ansible-playbook runs against a moto server over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support.ansible_run import BIN, REPO, base_env, run_playbook
from tests.support.events import (
    body_of,
    custom_event,
    eventbridge_dlq_message,
    mixed_messages,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.world import World

LOOKUP = "redrive.eventbridge.dlq_messages"
# Put back on the bus, rules unchecked: the messages here name rules that do not exist.
AS_BUS = "deliver_to='bus', when_rule_unmatched='put'"
MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
EXAMPLE = REPO / "examples" / "look_then_redrive.yml"
ITEM_KEYS = {
    "message_id",
    "queue",
    "origin",
    "event_id",
    "event",
    "entry",
    "attributes",
    "receive_count",
    "sent_at",
    "age_seconds",
    "redrivable",
    "reason",
}


def fact(name: str, expression: str) -> dict[str, Any]:
    """A set_fact task whose result holds the expression's value as `value`."""
    return {"name": name, "ansible.builtin.set_fact": {"value": "{{ " + expression + " }}"}}


def failing(name: str, expression: str) -> dict[str, Any]:
    return {**fact(name, expression), "ignore_errors": True}


def value(run: Any, task: str) -> Any:
    result = run.result(task)
    assert run.status(task) == "ok", result
    return result["ansible_facts"]["value"]


def receive_counts(world: World, url: str) -> dict[str, int]:
    """ApproximateReceiveCount per message, looked at once (visible again afterwards)."""
    return {
        message_id: int(message["Attributes"]["ApproximateReceiveCount"])
        for message_id, message in world.visible_messages(url).items()
    }


def test_lists_a_mixed_queue_and_leaves_it_as_found(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    other = world.queue("other")
    third = world.queue("third")
    messages = mixed_messages(25)
    sent = world.send(dlq, messages)
    shapes = dict(zip(sent, messages))
    other_sent = world.send(other, [eventbridge_dlq_message(custom_event(900))])
    other_sent += world.send(third, [eventbridge_dlq_message(custom_event(901))])
    kinds = {message_id: number % 10 for number, message_id in enumerate(sent)}
    counts_before = receive_counts(world, dlq)
    other_name = other.rsplit("/", 1)[1]
    third_arn = world.queue_arn(third)
    lambda_ids = [i for i in sent if kinds[i] in (2, 6)][:2]

    run = run_playbook(
        tmp_path,
        [
            {"name": "vars", "ansible.builtin.set_fact": {"dlq": dlq}},
            fact("all", f"query('{LOOKUP}', dlq, {AS_BUS})"),
            fact(
                "wantlist",
                f"lookup('{LOOKUP}', dlq, {AS_BUS}, wantlist=True, include_body=false)",
            ),
            fact(
                "two queues",
                f"query('{LOOKUP}', '{other_name}', ['{third_arn}'], {AS_BUS})",
            ),
            fact("capped", f"query('{LOOKUP}', dlq, {AS_BUS}, max_messages=12)"),
            fact(
                "by error code",
                f"query('{LOOKUP}', dlq, {AS_BUS}, error_codes=['INVALID_JSON'])",
            ),
            fact("by ids", f"query('{LOOKUP}', dlq, {AS_BUS}, message_ids={lambda_ids!r})"),
            fact(
                "by rule",
                f"query('{LOOKUP}', dlq, {AS_BUS}, rule_arns=['{rule_arn('nope')}'])",
            ),
            fact("too young", f"query('{LOOKUP}', dlq, {AS_BUS}, min_age_seconds=3600)"),
            fact(
                "entry options",
                f"query('{LOOKUP}', dlq, {AS_BUS}, error_codes=['CONNECTION_FAILURE'], "
                "event_bus='orders', source_override='com.example.replay', marker_field='redrive')",
            ),
            fact(
                "jinja filter",
                f"query('{LOOKUP}', dlq, {AS_BUS}) "
                "| selectattr('attributes.error_code', 'defined') "
                "| selectattr('attributes.error_code', 'equalto', 'INVALID_JSON') "
                "| map(attribute='message_id') | list",
            ),
        ],
        world.endpoint_url,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    # Every message, once each: enumeration went past the first ten.
    items = value(run, "all")
    assert len(items) == 25
    assert sorted(item["message_id"] for item in items) == sorted(sent)
    by_id = {item["message_id"]: item for item in items}
    for item in items:
        assert set(item) >= ITEM_KEYS, item
        assert item["queue"] == dlq
        assert item["receive_count"] == counts_before[item["message_id"]] + 1
        assert item["sent_at"].endswith("Z")
        assert 0 <= item["age_seconds"] < 600
    origins = Counter(by_id[i]["origin"] for i in sent)
    assert origins == {"eventbridge_dlq": 17, "lambda_dlq": 5, "lambda_destination": 3}, origins

    for message_id, kind in kinds.items():
        item = by_id[message_id]
        if kind == 9:  # malformed body: listed, not redrivable, raw body shown
            assert item["redrivable"] is False
            assert item["reason"] == "invalid_json"
            assert item["event"] is None and item["entry"] is None
            assert item["body"] == shapes[message_id]["MessageBody"]
            assert item["attributes"]["error_code"] == "INVALID_JSON"
            continue
        assert item["redrivable"] is True, item
        assert item["reason"] is None
        entry = item["entry"]
        event = item["event"]
        assert item["event_id"] == event["id"]
        assert entry["DetailType"] == event["detail-type"]
        assert json.loads(entry["Detail"]) == event["detail"]
        assert entry["EventBusName"] == "default"
        assert isinstance(entry["Size"], int) and entry["Size"] > len(entry["Detail"])
        if kind in (0, 4, 7):  # S3 via CloudTrail: aws.* source rewritten
            assert entry["Source"] == "redrive.aws.s3"
            assert item["attributes"] == {
                "rule_arn": rule_arn("billing-ingest"),
                "target_arn": "arn:aws:lambda:us-east-1:123456789012:function:billing-ingest",
                "error_code": "CONNECTION_FAILURE",
                "error_message": "Failed to connect to the target.",
                "exhausted_retry_condition": "MaximumRetryAttempts",
                "retry_attempts": 185,
            }
        else:
            assert entry["Source"] == "com.example.shop"
            assert event["detail"]["customer"]["name"] == "山田 太郎"
        if kind in (2, 6):  # Lambda async-invocation DLQ
            assert item["origin"] == "lambda_dlq"
            assert item["attributes"]["error_code"] == "200"
            assert item["attributes"]["error_message"] == "Task timed out after 3.00 seconds"
            assert "request_id" in item["attributes"]
        if kind == 3:  # Lambda on-failure destination: the wrapped event
            assert item["origin"] == "lambda_destination"
            assert event["detail"]["orderId"] == f"ORD-{sent.index(message_id):05d}"

    # wantlist=True gives the same list; include_body=false hides events and details.
    quiet = value(run, "wantlist")
    assert sorted(i["message_id"] for i in quiet) == sorted(sent)
    for item in quiet:
        assert item["event"] is None and "body" not in item
        assert item["entry"] is None or "Detail" not in item["entry"]
        assert (
            item["entry"] is None
            or item["entry"]["Size"] == by_id[item["message_id"]]["entry"]["Size"]
        )

    assert [i["message_id"] for i in value(run, "two queues")] == other_sent
    assert [i["queue"] for i in value(run, "two queues")] == [other, third]
    capped = value(run, "capped")
    assert len(capped) == 12 and len({i["message_id"] for i in capped}) == 12

    # Filters are the module's: same names, same meaning.
    malformed = sorted(i for i, kind in kinds.items() if kind == 9)
    assert sorted(i["message_id"] for i in value(run, "by error code")) == malformed
    assert sorted(i["message_id"] for i in value(run, "by ids")) == sorted(lambda_ids)
    assert value(run, "by rule") == []
    assert value(run, "too young") == []
    shown = value(run, "entry options")
    assert len(shown) == sum(1 for kind in kinds.values() if kind in (0, 1, 4, 5, 7, 8))
    for item in shown:
        assert item["entry"]["EventBusName"] == "orders"
        assert item["entry"]["Source"] == "com.example.replay"
        marker = json.loads(item["entry"]["Detail"])["redrive"]
        assert marker == {"event_id": item["event_id"], "message_id": item["message_id"]}
    assert sorted(value(run, "jinja filter")) == malformed

    # Read-only: the same messages, all visible, nothing in flight, bodies unchanged.
    assert world.depth(dlq) == {"visible": 25, "in_flight": 0}
    assert world.visible_ids(dlq) == sorted(sent)
    assert world.visible_ids(other) == other_sent[:1]
    assert world.visible_ids(third) == other_sent[1:]


def test_looked_at_ids_redrive_exactly_those(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    codes = ["THROTTLING", "CONNECTION_FAILURE", "TIMEOUT"]
    events = [custom_event(n) for n in range(15)]
    sent = world.send(
        dlq,
        [eventbridge_dlq_message(event, error_code=codes[n % 3]) for n, event in enumerate(events)],
    )
    sent.append(world.send(dlq, [eventbridge_dlq_message(s3_cloudtrail_event())])[0])
    throttled = {sent[n] for n in range(15) if n % 3 == 0}

    run = run_playbook(
        tmp_path,
        [
            fact("look", f"query('{LOOKUP}', '{dlq}', {AS_BUS})"),
            fact(
                "choose",
                "value | selectattr('attributes.error_code', 'equalto', 'THROTTLING') "
                "| selectattr('event.detail.orderId', 'in', ['ORD-00000', 'ORD-00003', "
                "'ORD-00006', 'ORD-00009', 'ORD-00012']) | map(attribute='message_id') | list",
            ),
            {
                "name": "redrive",
                MODULE: {
                    "queue": dlq,
                    "message_ids": "{{ value }}",
                    "wait_seconds": 0,
                    "deliver_to": "bus",
                    "when_rule_unmatched": "put",
                },
                "register": "out",
            },
        ],
        world.endpoint_url,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    chosen = value(run, "choose")
    assert set(chosen) == throttled and len(chosen) == 5
    result = run.result("redrive")
    assert result["redriven"] == 5, result
    assert result["filtered_out"] == 11, result
    delivered = world.captured_events(capture)
    assert sorted(e["detail"]["orderId"] for e in delivered) == [
        f"ORD-{n:05d}" for n in (0, 3, 6, 9, 12)
    ]
    assert world.visible_ids(dlq) == sorted(set(sent) - throttled)
    assert world.depth(dlq) == {"visible": 11, "in_flight": 0}


def test_errors_are_lookup_errors_with_code_and_hint(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(1))])
    missing = world.name("no-such-queue")

    run = run_playbook(
        tmp_path,
        [
            failing("missing queue", f"query('{LOOKUP}', '{missing}')"),
            failing("bad source", f"query('{LOOKUP}', '{dlq}', source_override='aws.s3')"),
            failing("no queue", f"query('{LOOKUP}')"),
            failing("bad cap", f"query('{LOOKUP}', '{dlq}', max_messages=0)"),
            failing(
                "profile and keys",
                f"query('{LOOKUP}', '{dlq}', profile='ops', access_key='AKIA', secret_key='x')",
            ),
            # Connection options given as keyword arguments win over the environment.
            fact(
                "explicit region",
                f"query('{LOOKUP}', '{dlq}', region='us-east-1', "
                f"endpoint_url='{world.endpoint_url}') | map(attribute='message_id') | list",
            ),
            failing(
                "explicit endpoint",
                f"query('{LOOKUP}', '{dlq}', region='us-east-1', "
                "endpoint_url='http://127.0.0.1:9', aws_config={'retries': {'max_attempts': 1}})",
            ),
        ],
        world.endpoint_url,
        env={"AWS_REGION": "eu-west-3"},
    )

    message = run.result("missing queue")["msg"]
    assert run.status("missing queue") == "failed"
    assert "redrive.eventbridge.dlq_messages" in message
    assert "NonExistentQueue" in message or "QueueDoesNotExist" in message, message
    assert missing in message
    assert "check the queue name, URL or ARN and the region" in message
    assert "source_override must not start with 'aws.'" in run.result("bad source")["msg"]
    assert "at least one queue" in run.result("no queue")["msg"]
    assert "max_messages must be at least 1" in run.result("bad cap")["msg"]
    assert "mutually exclusive" in run.result("profile and keys")["msg"]
    assert "EndpointConnectionError" in run.result("explicit endpoint")["msg"]
    assert "check endpoint_url" in run.result("explicit endpoint")["msg"]
    for task in (
        "missing queue",
        "bad source",
        "no queue",
        "bad cap",
        "profile and keys",
        "explicit endpoint",
    ):
        assert run.status(task) == "failed", task
    assert len(value(run, "explicit region")) == 1
    assert world.depth(dlq) == {"visible": 1, "in_flight": 0}


def test_example_playbook_looks_then_redrives(world: World, tmp_path: Path) -> None:
    """examples/look_then_redrive.yml, as shipped, against moto."""
    dlq = world.queue("dlq")
    # The messages' target, behind the rule that failed to deliver to it.
    capture, failed = world.capture_rule()
    wanted = [
        eventbridge_dlq_message(custom_event(1), error_code="CONNECTION_FAILURE", **failed),
        eventbridge_dlq_message(s3_cloudtrail_event(), error_code="THROTTLING", **failed),
    ]
    unwanted = [
        eventbridge_dlq_message(custom_event(2), error_code="NO_PERMISSIONS", **failed),
        eventbridge_dlq_message({}, body="not json", error_code="CONNECTION_FAILURE"),
        # A bare event without failure attributes: redrivable, but has no error code.
        {"MessageBody": body_of(custom_event(3))},
    ]
    wanted_ids = world.send(dlq, wanted)
    unwanted_ids = world.send(dlq, unwanted)

    tmp_path.mkdir(parents=True, exist_ok=True)
    env = base_env(tmp_path, world.endpoint_url)
    env["RESULT_DUMP_FILE"] = str(tmp_path / "example.jsonl")
    completed = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            str(EXAMPLE),
            "-e",
            f"dlq_queue={dlq}",
            "-e",
            "aws_region=us-east-1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = {
        line["task"]: line["result"]
        for line in map(json.loads, (tmp_path / "example.jsonl").read_text().splitlines())
    }
    assert sorted(results["Choose the messages to redrive"]["ansible_facts"]["chosen_ids"]) == (
        sorted(wanted_ids)
    )
    assert results["Preview the redrive of the chosen messages"]["check_mode"] is True
    assert results["Redrive the chosen messages"]["redriven"] == 2
    summary = results["Show what the DLQ holds"]["msg"]
    assert summary["per_error_code"] == {
        "CONNECTION_FAILURE": 2,
        "THROTTLING": 1,
        "NO_PERMISSIONS": 1,
    }
    assert summary["without_error_code"] == 1
    assert summary["redrivable"] == 4
    # Sent to the target that failed, as EventBridge would have: aws.s3 stays aws.s3.
    assert sorted(e["source"] for e in world.captured_events(capture)) == [
        "aws.s3",
        "com.example.shop",
    ]
    assert world.visible_ids(dlq) == sorted(unwanted_ids)


def test_event_pattern_as_json_text_and_selecting_what_no_longer_matches(
    world: World, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    _capture, s3_rule = world.capture_rule(pattern={"source": ["aws.s3"]})
    _capture, shop_rule = world.capture_rule(pattern={"source": ["com.example.shop"]})
    shop = [custom_event(n) for n in range(3)]
    shop[1]["detail"]["total"] = 5.5
    s3_ids = world.send(dlq, [eventbridge_dlq_message(s3_cloudtrail_event(), **s3_rule)])
    shop_ids = world.send(dlq, [eventbridge_dlq_message(event, **shop_rule) for event in shop])
    # JSON text, as a rule's EventPattern reads (a Jinja string literal, not a dict).
    large = json.dumps({"detail": {"total": [{"numeric": [">", 1000]}]}})
    broken = json.dumps({"detail": {"total": [{"numeric": [">"]}]}})

    run = run_playbook(
        tmp_path,
        [
            fact("large", f"query('{LOOKUP}', '{dlq}', event_pattern='{large}')"),
            fact(
                "unreachable",
                f"query('{LOOKUP}', '{dlq}', deliver_to='bus') "
                "| selectattr('matches_rule', 'false') | list",
            ),
            fact(
                "reachable",
                f"query('{LOOKUP}', '{dlq}', deliver_to='bus') "
                "| selectattr('matches_rule', 'true') | map(attribute='message_id') | list",
            ),
            failing("broken", f"query('{LOOKUP}', '{dlq}', event_pattern='{broken}')"),
        ],
        world.endpoint_url,
    )

    large_items = value(run, "large")
    assert sorted(item["message_id"] for item in large_items) == sorted(shop_ids[n] for n in (0, 2))
    (unreachable,) = value(run, "unreachable")
    assert unreachable["message_id"] == s3_ids[0]
    assert (unreachable["rule_check"], unreachable["unmatched_field"]) == (
        "no_longer_matches_rule",
        "source: redrive.aws.s3 not in [aws.s3]",
    )
    assert sorted(value(run, "reachable")) == sorted(shop_ids)
    assert run.status("broken") == "failed"
    message = run.result("broken")["msg"]
    assert "event_pattern" in message and "detail.total" in message, message
    assert world.depth(dlq) == {"visible": 4, "in_flight": 0}
