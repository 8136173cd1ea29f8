"""Every message accounted for, as an operator would see it: the module through real
ansible-playbook and `aws eventbridge-dlq`, against moto behind the fault proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.aws_cli import aws, cli_env
from tests.support.events import (
    ACCOUNT,
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
    rule_arn,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import World

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
FAST = {"wait_seconds": 0, "empty_receives": 1, "concurrency": 1}
# botocore retries a failed call itself; two tries keep injected failures quick.
FEW_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 2}}
PARTNER_BUS = "aws.partner/example.com/123/orders"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=13) as running:
        yield running


def redrive(tmp: Path, proxy: FaultProxy, **options: Any) -> tuple[PlaybookRun, dict[str, Any]]:
    task = {"name": "redrive", MODULE: options, "register": "out", "ignore_errors": True}
    run = run_playbook(tmp, [task], proxy.url)
    return run, run.result("redrive")


def order_is(number: int):
    return lambda entry: f'"ORD-{number:05d}"' in entry.get("Detail", "")


def test_partner_bus_events_go_to_their_bus_and_unreadable_rule_arns_stay(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    world.events.create_partner_event_source(Name=PARTNER_BUS, Account=ACCOUNT)
    world.events.create_event_bus(Name=PARTNER_BUS, EventSourceName=PARTNER_BUS)
    dlq = world.queue("dlq")
    partner = [
        eventbridge_dlq_message(custom_event(n), rule=rule_arn("orders-rule", bus=PARTNER_BUS))
        for n in range(10)
    ]
    unreadable = [
        eventbridge_dlq_message(custom_event(n), rule="arn:aws:events:us-east-1:1:rule/")
        for n in range(10, 13)
    ]
    kept_ids = world.send(dlq, partner + unreadable)[10:]
    # moto splits bus names at "/" and cannot put on a partner bus: the proxy answers.
    proxy.record_entries = proxy.answer_put_events = True

    _run, result = redrive(tmp_path, proxy, queue=dlq, **FAST)

    assert (result["redriven"], result["kept"]) == (10, 3), result["kept_messages"]
    assert {entry["EventBusName"] for entry in proxy.accepted_entries} == {PARTNER_BUS}
    assert {item["code"] for item in result["kept_messages"]} == {"unknown_bus"}
    assert world.visible_ids(dlq) == sorted(kept_ids)


def test_a_throttled_bus_check_quarantines_nothing(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq, quarantine = world.queue("dlq"), world.queue("quarantine")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(4)])
    proxy.fail_calls("DescribeEventBus", "ThrottlingException", count=2)

    _run, result = redrive(
        tmp_path, proxy, queue=dlq, quarantine_queue=quarantine, aws_config=FEW_RETRIES, **FAST
    )

    assert result["quarantined"] == 0 and world.depth(quarantine)["visible"] == 0, result
    assert proxy.calls["DescribeEventBus"] == 3  # two tries for the first message, one more
    assert (result["redriven"], result["kept"]) == (3, 1)
    assert result["kept_messages"][0]["disposition"] == "transient"


def test_filtered_out_messages_do_not_end_a_slow_run_early(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    """300 messages, 400 ms per call, one worker, a 10 s visibility timeout, and the last
    five chosen by id: before, the first messages reappeared after 10 s, the receives that
    brought only them counted as empty, and the run stopped as drained having found none
    of the five."""
    dlq = world.queue("dlq")
    capture = world.capture()
    ids = world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(300)])
    proxy.set_latency(0.4)

    _run, result = redrive(
        tmp_path, proxy, queue=dlq, concurrency=1, visibility_timeout=10, message_ids=ids[-5:]
    )

    assert (result["received"], result["redriven"], result["filtered_out"]) == (300, 5, 295)
    assert result["stopped_by"] == "drained"
    proxy.set_latency(0.0)
    assert len(world.captured_events(capture)) == 5
    counts = {
        m["Attributes"]["ApproximateReceiveCount"] for m in world.visible_messages(dlq).values()
    }
    assert counts == {"2"}  # the run's receive and this look: none received twice by the run


def test_an_answer_that_is_neither_accepted_nor_refused_stays_in_the_dlq(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq, quarantine = world.queue("dlq"), world.queue("quarantine")
    ids = world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    proxy.blank_entries(match=order_is(1), count=1)

    _run, result = redrive(tmp_path, proxy, queue=dlq, quarantine_queue=quarantine, **FAST)

    assert (result["redriven"], result["kept"], result["quarantined"]) == (2, 1, 0), result
    assert result["kept_messages"][0]["code"] == "MissingEventId"
    assert world.visible_ids(dlq) == [ids[1]]
    assert world.depth(quarantine)["visible"] == 0


def test_large_poison_messages_reach_the_quarantine(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    # A queue that keeps SQS's former limit: 256 KiB per message and per batch.
    quarantine = world.sqs.create_queue(
        QueueName=world.name("quarantine"), Attributes={"MaximumMessageSize": "262144"}
    )["QueueUrl"]
    poison = [malformed_message('{"source": "' + "x" * 100_000 + str(n)) for n in range(3)]
    world.send(dlq, poison)

    _run, result = redrive(tmp_path, proxy, queue=dlq, quarantine_queue=quarantine, **FAST)

    assert result["quarantined"] == 3, result["kept_messages"]
    assert world.depth(dlq)["visible"] == 0 and world.depth(quarantine)["visible"] == 3
    assert proxy.calls["SendMessageBatch"] == 2


def test_a_fatal_error_in_a_later_batch_still_settles_the_earlier_ones(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    big = "液" * 40_000  # 120 kB of detail: two entries per PutEvents request
    events = [custom_event(n, detail={"orderId": f"ORD-{n:05d}", "blob": big}) for n in range(6)]
    ids = world.send(dlq, [eventbridge_dlq_message(event) for event in events])
    proxy.fail_calls(
        "PutEvents",
        "AccessDeniedException",
        match=lambda request: any('"ORD-00004"' in e["Detail"] for e in request["Entries"]),
    )

    _run, result = redrive(tmp_path, proxy, queue=dlq, **FAST)

    assert result["error"]["code"] == "AccessDeniedException", result
    delivered = sorted(e["detail"]["orderId"] for e in world.captured_events(capture))
    assert result["redriven"] == len(delivered) == 4
    assert world.visible_ids(dlq) == sorted(ids[4:])  # the delivered four were deleted


def test_the_counts_survive_a_failing_call_after_the_run(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    depth_reads = []

    def after_the_run(request: dict[str, Any]) -> bool:
        if "ApproximateNumberOfMessages" not in request.get("AttributeNames", []):
            return False
        depth_reads.append(1)
        return len(depth_reads) > 1

    proxy.fail_calls("GetQueueAttributes", "InternalFailure", match=after_the_run)

    run, result = redrive(tmp_path, proxy, queue=dlq, aws_config=FEW_RETRIES, **FAST)

    assert run.status("redrive") == "failed"
    assert result["redriven"] == 3 and result["error"]["action"] == "GetQueueAttributes"
    assert world.depth(dlq)["visible"] == 0


def test_flaky_deletes_leave_nothing_behind(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    """Each delete entry fails 30 % of the time: a delete is retried for as long as the
    run lasts, so no delivered message stays in the DLQ to be delivered again."""
    dlq = world.queue("dlq")
    capture = world.capture()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(200)])
    proxy.fail_delete_entries(rate=0.3)
    env = cli_env(tmp_path)

    run = aws(
        env,
        proxy.url,
        "eventbridge-dlq",
        "redrive",
        "--queue",
        dlq,
        "--wait-seconds",
        "0",
        "--empty-receives",
        "1",
    )

    summary = json.loads(run.stdout)
    assert run.returncode == 0, run.stderr
    assert (summary["redriven"], summary["delete_failures"]) == (200, 0)
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    assert len(world.captured_events(capture)) == 200
