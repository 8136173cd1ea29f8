"""The module against AWS behaviour moto lacks, injected by the fault proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.settle import FINAL_SWEEP_ROUNDS
from tests.support.ansible_run import run_playbook
from tests.support.events import custom_event, eventbridge_dlq_message, s3_cloudtrail_event
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import World

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=7) as running:
        yield running


def redrive(tmp: Path, proxy: FaultProxy, args: list[str] | None = None, **options: Any) -> Any:
    task = {
        "name": "redrive",
        MODULE: {"wait_seconds": 0, "empty_receives": 1, **options},
        "register": "out",
        "ignore_errors": True,
    }
    return run_playbook(tmp, [task], proxy.url, extra_args=args)


def order_is(number: int):
    return lambda entry: f'"ORD-{number:05d}"' in entry.get("Detail", "")


def test_partial_put_failure_deletes_exactly_the_accepted(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    ids = world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(6)])
    proxy.fail_entries("ThrottlingException", count=2, match=order_is(1))
    proxy.fail_entries("InternalFailure", count=1, match=order_is(3))
    proxy.fail_entries("MalformedDetail", match=order_is(2))
    proxy.fail_entries("AccessDeniedException", match=order_is(4))

    run = redrive(tmp_path, proxy, queue=dlq, concurrency=1)

    result = run.result("redrive")
    assert run.status("redrive") == "ok", result
    assert (result["redriven"], result["kept"]) == (4, 2)
    reasons = {item["message_id"]: item["reason"] for item in result["kept_messages"]}
    assert reasons[ids[2]].startswith("MalformedDetail")
    assert reasons[ids[4]].startswith("AccessDeniedException")
    assert world.visible_ids(dlq) == sorted([ids[2], ids[4]])
    delivered = sorted(event["detail"]["orderId"] for event in world.captured_events(capture))
    assert delivered == ["ORD-00000", "ORD-00001", "ORD-00003", "ORD-00005"]
    assert result["api_calls"]["PutEvents"] == 3  # first try, then the two retryable entries twice


def test_aws_sources_are_refused_per_entry_when_not_rewritten(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    ids = world.send(
        dlq,
        [eventbridge_dlq_message(s3_cloudtrail_event()), eventbridge_dlq_message(custom_event(1))],
    )

    run = redrive(tmp_path, proxy, queue=dlq, rewrite_aws_sources=False)

    result = run.result("redrive")
    assert (result["redriven"], result["kept"]) == (1, 1)
    kept = result["kept_messages"][0]
    assert kept["message_id"] == ids[0]
    assert kept["reason"].startswith("NotAuthorizedForSourceException")
    assert world.visible_ids(dlq) == [ids[0]]


def test_check_mode_makes_no_mutating_call(world: World, proxy: FaultProxy, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(12)])

    run = redrive(tmp_path, proxy, ["--check"], queue=dlq)

    assert run.result("redrive")["changed"] is True
    assert proxy.mutating_calls() == 0, dict(proxy.calls)
    assert world.depth(dlq) == {"visible": 12, "in_flight": 0}


def test_whole_call_throttling_is_retried_by_botocore(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    proxy.fail_calls("PutEvents", "ThrottlingException", count=2)
    proxy.fail_calls("DeleteMessageBatch", "ServiceUnavailable", count=1)

    run = redrive(tmp_path, proxy, queue=dlq)

    result = run.result("redrive")
    assert (result["redriven"], result["kept"], result["delete_failures"]) == (3, 0, 0)
    assert world.depth(dlq)["visible"] == 0
    assert proxy.calls["PutEvents"] == 3


def test_delete_failures_are_retried_then_reported(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    ids = world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(4)])
    proxy.fail_delete_entries(count=1)  # one entry fails once: the retry deletes it
    proxy.fail_delete_entries(
        match=lambda entry: proxy.handle_to_message.get(entry["ReceiptHandle"]) == ids[0]
    )

    run = redrive(tmp_path, proxy, queue=dlq, concurrency=1)

    result = run.result("redrive")
    assert result["redriven"] == 4
    assert result["delete_failures"] == 1
    failed = result["delete_failed_messages"][0]
    assert failed["message_id"] == ids[0]
    assert "may be received and redriven again" in failed["reason"]
    # The first try, then the final sweep's rounds for the one SQS keeps refusing.
    assert proxy.calls["DeleteMessageBatch"] == 1 + FINAL_SWEEP_ROUNDS
    assert world.visible_ids(dlq) == [ids[0]]
