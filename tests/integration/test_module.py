"""The module through real ansible-playbook runs against a moto server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.events import (
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.world import World

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
FAST = {"wait_seconds": 0, "empty_receives": 1, "deliver_to": "bus", "when_rule_unmatched": "put"}


def redrive_task(name: str = "redrive", **options: Any) -> dict[str, Any]:
    return {"name": name, MODULE: {**FAST, **options}, "register": "out", "ignore_errors": True}


def play(
    world: World, tmp: Path, tasks: list[dict[str, Any]], args: Optional[list[str]] = None
) -> PlaybookRun:
    return run_playbook(tmp, tasks, world.endpoint_url, extra_args=args)


def test_full_drain_puts_events_back_intact(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    s3 = s3_cloudtrail_event()
    shop = custom_event(1)
    world.send(dlq, [eventbridge_dlq_message(s3), eventbridge_dlq_message(shop)])

    secret = "sEcReT/ModuleProbe+0123456789abcdef"
    run = run_playbook(
        tmp_path,
        [redrive_task(queue=dlq)],
        world.endpoint_url,
        extra_args=["-vvv"],
        env={"AWS_SECRET_ACCESS_KEY": secret},
    )

    result = run.result("redrive")
    assert run.status("redrive") == "ok", result
    assert result["changed"] is True
    assert (result["received"], result["redriven"], result["kept"]) == (2, 2, 0)
    assert result["sources_rewritten"] == 1
    assert result["by_bus"] == {"default": {"redriven": 2}}
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    delivered = {
        event["detail"].get("orderId", "s3"): event for event in world.captured_events(capture)
    }
    assert delivered["s3"]["source"] == "redrive.aws.s3"
    assert delivered["ORD-00001"]["source"] == "com.example.shop"
    for original, key in ((s3, "s3"), (shop, "ORD-00001")):
        got = delivered[key]
        assert got["detail"] == original["detail"]
        assert got["detail-type"] == original["detail-type"]
        assert got["resources"] == original["resources"]
        assert got["time"] == original["time"]
    # The secret key reached the module (the calls were signed with it) and nowhere else.
    assert secret not in json.dumps(result) + run.stdout + run.stderr


def test_bus_comes_from_rule_arn(world: World, tmp_path: Path) -> None:
    bus = world.bus("orders")
    dlq = world.queue("dlq")
    on_bus = world.capture(bus)
    on_default = world.capture()
    world.send(
        dlq,
        [
            eventbridge_dlq_message(custom_event(n), rule=rule_arn("to-billing", bus=bus))
            for n in range(3)
        ],
    )

    run = play(world, tmp_path, [redrive_task(queue=dlq)])

    assert run.result("redrive")["by_bus"] == {bus: {"redriven": 3}}
    assert len(world.captured_events(on_bus)) == 3
    assert world.captured_events(on_default) == []


def test_check_mode_changes_nothing_then_real_run_then_idempotent(
    world: World, tmp_path: Path
) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(4)])
    world.send(dlq, [malformed_message()])
    before = world.visible_ids(dlq)

    check = play(world, tmp_path / "check", [redrive_task(queue=dlq)], ["--check", "--diff"])

    preview = check.result("redrive")
    assert preview["changed"] is True and preview["check_mode"] is True
    assert (preview["redriven"], preview["kept"], preview["inspected"]) == (4, 1, 5)
    assert preview["complete"] is True
    assert preview["kept_messages"][0]["reason"] == "invalid_json"
    assert preview["diff"] == {"before": {"visible_messages": 5}, "after": {"visible_messages": 1}}
    assert set(preview["api_calls"]) <= {"ReceiveMessage", "DescribeEventBus", "DescribeRule"}
    assert world.visible_ids(dlq) == before
    assert world.captured_events(capture) == []

    real = play(world, tmp_path / "real", [redrive_task(queue=dlq)])
    assert real.result("redrive")["redriven"] == 4
    assert real.result("redrive")["changed"] is True
    assert len(world.captured_events(capture)) == 4

    again = play(world, tmp_path / "again", [redrive_task(queue=dlq)])
    second = again.result("redrive")
    assert second["changed"] is False
    assert (second["redriven"], second["kept"]) == (0, 1)
    assert world.depth(dlq) == {"visible": 1, "in_flight": 0}


def test_empty_queue_is_not_changed_in_check_mode_either(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    run = play(
        world,
        tmp_path,
        [redrive_task("real", queue=dlq), redrive_task("check", queue=dlq, check_mode=True)],
    )
    assert run.result("real")["changed"] is False
    assert run.result("check")["changed"] is False


def test_oversize_entry_is_kept_with_its_size(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    big = custom_event(1, detail={"blob": "x" * 3000})
    ids = world.send(dlq, [eventbridge_dlq_message(big), eventbridge_dlq_message(custom_event(2))])

    run = play(world, tmp_path, [redrive_task(queue=dlq, max_request_bytes=2048)])

    result = run.result("redrive")
    assert run.status("redrive") == "ok"
    assert (result["redriven"], result["kept"]) == (1, 1)
    kept = result["kept_messages"][0]
    assert kept["message_id"] == ids[0]
    # 14 (Time) + 16 (source) + 12 (注文確定 in UTF-8) + 3011 (detail) + 52 (resource ARN)
    assert kept["reason"] == "entry_too_large: 3105 bytes, limit 2048"
    assert "body" not in kept
    assert world.visible_ids(dlq) == [ids[0]]


def test_quarantine_moves_unredrivable_messages_with_reason(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    quarantine = world.queue("quarantine")
    bad = malformed_message()
    world.send(dlq, [bad, eventbridge_dlq_message(custom_event(1))])

    run = play(
        world, tmp_path, [redrive_task(queue=dlq, quarantine_queue=world.name("quarantine"))]
    )

    result = run.result("redrive")
    assert (result["redriven"], result["quarantined"], result["kept"]) == (1, 1, 0)
    assert world.depth(dlq)["visible"] == 0
    moved = world.drain(quarantine)
    assert len(moved) == 1
    assert moved[0]["Body"] == bad["MessageBody"]
    attributes = moved[0]["MessageAttributes"]
    assert attributes["REDRIVE_REASON"]["StringValue"] == "invalid_json"
    assert attributes["ERROR_CODE"]["StringValue"] == "INVALID_JSON"
    assert attributes["REDRIVE_SOURCE_QUEUE"]["StringValue"] == dlq


def test_filters_select_and_leave_the_rest_visible(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    timeouts = world.send(
        dlq, [eventbridge_dlq_message(custom_event(n), error_code="TIMEOUT") for n in range(3)]
    )
    others = world.send(
        dlq,
        [
            eventbridge_dlq_message(
                custom_event(n), error_code="NO_PERMISSIONS", rule=rule_arn("other")
            )
            for n in range(2)
        ],
    )

    run = play(world, tmp_path, [redrive_task(queue=dlq, error_codes=["TIMEOUT"])])

    result = run.result("redrive")
    assert (result["redriven"], result["filtered_out"], result["changed"]) == (3, 2, True)
    assert world.visible_ids(dlq) == sorted(others)
    assert len(world.captured_events(capture)) == len(timeouts)

    nothing = play(
        world,
        tmp_path / "again",
        [
            redrive_task(queue=dlq, rule_arns=[rule_arn("nope")]),
            redrive_task("empty selection", queue=dlq, message_ids=[]),
        ],
    )
    assert nothing.result("redrive")["changed"] is False
    assert nothing.result("redrive")["filtered_out"] == 2
    assert nothing.result("empty selection")["changed"] is False
    assert nothing.result("empty selection")["redriven"] == 0
    assert world.visible_ids(dlq) == sorted(others)


def test_max_messages_bounds_the_run(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(12)])

    run = play(world, tmp_path, [redrive_task(queue=dlq, max_messages=5, concurrency=4)])

    result = run.result("redrive")
    assert (result["received"], result["redriven"], result["stopped_by"]) == (5, 5, "max_messages")
    assert world.depth(dlq) == {"visible": 7, "in_flight": 0}


def test_duplicates_are_put_once(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    event = custom_event(1)
    copies = [
        eventbridge_dlq_message(event, target_arn=f"arn:aws:sqs:us-east-1:123456789012:t{n}")
        for n in range(3)
    ]
    world.send(dlq, copies)

    run = play(world, tmp_path, [redrive_task(queue=dlq, concurrency=1)])

    result = run.result("redrive")
    assert (result["redriven"], result["duplicates_skipped"]) == (1, 2)
    assert world.depth(dlq)["visible"] == 0
    assert len(world.captured_events(capture)) == 1


def test_kept_messages_report_or_fail_on_request(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [malformed_message()])
    run = play(
        world,
        tmp_path,
        [redrive_task("report", queue=dlq), redrive_task("fail", queue=dlq, fail_on_kept=True)],
    )
    assert run.status("report") == "ok"
    assert run.result("report")["kept"] == 1
    assert run.status("fail") == "failed"
    assert "1 message(s) kept" in run.result("fail")["msg"]
    assert world.depth(dlq)["visible"] == 1


def test_bad_input_fails_clearly_and_changes_nothing(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(1))])
    run = play(
        world,
        tmp_path,
        [
            redrive_task("missing queue", queue=world.name("nope")),
            redrive_task("aws override", queue=dlq, source_override="aws.s3"),
            redrive_task("zero workers", queue=dlq, concurrency=0),
            redrive_task("negative bound", queue=dlq, max_messages=-1),
            redrive_task("missing bus", queue=dlq, event_bus="no-such-bus"),
            redrive_task("same quarantine", queue=dlq, quarantine_queue=dlq),
        ],
    )
    missing = run.result("missing queue")
    assert run.status("missing queue") == "failed"
    assert missing["error"]["code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert "does not exist" in missing["msg"] and "check the queue name" in missing["msg"]
    assert "must not start with 'aws.'" in run.result("aws override")["msg"]
    assert "concurrency must be between 1 and 64" in run.result("zero workers")["msg"]
    assert "max_messages must be at least 1" in run.result("negative bound")["msg"]
    assert "no-such-bus" in run.result("missing bus")["msg"]
    assert run.result("missing bus")["error"]["code"] == "ResourceNotFoundException"
    assert "must not be the queue being redriven" in run.result("same quarantine")["msg"]
    for task in (
        "aws override",
        "zero workers",
        "negative bound",
        "missing bus",
        "same quarantine",
    ):
        assert run.status(task) == "failed"
    assert world.depth(dlq) == {"visible": 1, "in_flight": 0}


def test_no_credentials_is_a_clear_error(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    run = run_playbook(
        tmp_path,
        [redrive_task(queue=dlq)],
        world.endpoint_url,
        env={
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    result = run.result("redrive")
    assert run.status("redrive") == "failed"
    assert result["error"]["code"] == "NoCredentials"
    assert "AWS_ACCESS_KEY_ID" in result["msg"]


def test_no_region_is_a_clear_error(world: World, tmp_path: Path) -> None:
    run = run_playbook(
        tmp_path,
        [redrive_task(queue="some-dlq")],
        world.endpoint_url,
        env={"AWS_REGION": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_DEFAULT_REGION": ""},
    )
    result = run.result("redrive")
    assert run.status("redrive") == "failed"
    assert result["error"]["code"] == "NoRegion", result
    assert "AWS_REGION" in result["msg"]
