"""Every kind of message a DLQ behind EventBridge holds, through real ansible-playbook
against moto over HTTP: ordinary events go back, an encrypted-event wrapper and a Scheduler
dead-letter event are kept with their reasons (or, decrypted, the original event goes
back), another service's record is kept with what it looks like. And target mode under
faults at the target, through the fault proxy: nothing lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_decrypt import encrypt_like_eventbridge
from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.events import (
    body_of,
    custom_event,
    encrypted_event_wrapper,
    eventbridge_dlq_message,
    scheduler_dead_letter_message,
    scheduler_request,
    sns_notification_message,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import World, client

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
FAST = {"wait_seconds": 0, "empty_receives": 1}


def play(world: World, tmp: Path, tasks: list[dict[str, Any]], url: str = "") -> PlaybookRun:
    return run_playbook(tmp, tasks, url or world.endpoint_url)


def redrive_task(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, MODULE: {**FAST, **options}, "register": "out"}


def test_only_ordinary_events_go_back_the_others_are_kept_with_their_reasons(
    world: World, tmp_path: Path
) -> None:
    bus = world.bus("orders")
    capture, failed = world.capture_rule(bus)
    rule_name = failed["rule"].rsplit("/", 1)[1]
    kms = client("kms", world.endpoint_url)
    key = kms.create_key(Description="orders bus")["KeyMetadata"]["Arn"]
    secret_event = custom_event(9)
    payload = encrypt_like_eventbridge(kms, key, body_of(secret_event).encode("utf-8"), bus=bus)
    wrapper = encrypted_event_wrapper(payload, bus=bus, key_arn=key, rule=rule_name)
    ordinary = [custom_event(n) for n in range(3)]
    dlq = world.queue("dlq")
    ids = world.send(
        dlq,
        [
            *(eventbridge_dlq_message(event, **failed) for event in ordinary),
            {"MessageBody": body_of(wrapper), "MessageAttributes": {}},
            scheduler_dead_letter_message(),
            sns_notification_message(),
        ],
    )
    look = {"ansible.builtin.set_fact": {"items": f"{{{{ query('{LOOKUP}', '{dlq}') }}}}"}}

    run = play(
        world,
        tmp_path,
        [
            {"name": "look", **look},
            redrive_task("on the bus", queue=dlq, deliver_to="bus"),
            redrive_task("decrypted", queue=dlq, deliver_to="bus", decrypt=True),
        ],
    )

    origins = {i["message_id"]: i["origin"] for i in run.result("look")["ansible_facts"]["items"]}
    assert [origins[message_id] for message_id in ids] == [
        "eventbridge_dlq",
        "eventbridge_dlq",
        "eventbridge_dlq",
        "encrypted_event",
        "scheduler",
        "unknown",
    ]
    first = run.result("on the bus")
    assert (first["redriven"], first["kept"]) == (3, 3), first["kept_messages"]
    reasons = {item["message_id"]: item for item in first["kept_messages"]}
    assert reasons[ids[3]]["code"] == "encrypted_event"
    assert key in reasons[ids[3]]["reason"] and bus in reasons[ids[3]]["reason"]
    assert reasons[ids[4]]["code"] == "scheduler_dead_letter"
    assert reasons[ids[5]]["code"] == "sns_notification"
    second = run.result("decrypted")
    assert (second["redriven"], second["kept"]) == (1, 2), second["kept_messages"]
    delivered = world.captured_events(capture)
    assert sorted(e["detail"]["orderId"] for e in delivered) == [
        "ORD-00000",
        "ORD-00001",
        "ORD-00002",
        "ORD-00009",
    ]
    assert world.visible_ids(dlq) == sorted(ids[4:])


def test_a_scheduler_dead_letter_event_is_sent_again_to_its_queue(
    world: World, tmp_path: Path
) -> None:
    """The Scheduler guide's own example (TARGET_ARN aws-sdk:sqs:sendMessage, the body the
    SendMessage request) through ansible-playbook: check mode shows the route, the run
    sends exactly the MessageBody, a cut body and an unsupported action stay."""
    target = world.queue("schedule-target")
    message_body = '{"invoice_run": "2026-11-21", "note": "月末"}'
    dlq = world.queue("schedule-dlq")
    ids = world.send(
        dlq,
        [
            scheduler_dead_letter_message(scheduler_request(target, message_body)),
            scheduler_dead_letter_message(scheduler_request(target, "cut"), truncated="true"),
            scheduler_dead_letter_message(
                scheduler_request(target, "x"),
                target_arn="arn:aws:scheduler:::aws-sdk:sqs:createQueue",
            ),
        ],
    )
    look = {"ansible.builtin.set_fact": {"items": f"{{{{ query('{LOOKUP}', '{dlq}') }}}}"}}

    run = play(
        world,
        tmp_path,
        [
            {"name": "look", **look},
            {**redrive_task("preview", queue=dlq), "check_mode": True},
            redrive_task("redrive", queue=dlq),
        ],
    )

    items = {i["message_id"]: i for i in run.result("look")["ansible_facts"]["items"]}
    assert [items[i]["origin"] for i in ids] == ["scheduler"] * 3
    assert items[ids[0]]["route"] == "target"
    assert items[ids[0]]["target"]["type"] == "scheduler:sqs:sendMessage"
    preview = run.result("preview")
    assert (preview["redriven"], preview["kept"]) == (1, 2)
    result = run.result("redrive")
    assert (result["redriven"], result["kept"]) == (1, 2), result["kept_messages"]
    kept = {item["message_id"]: item for item in result["kept_messages"]}
    assert kept[ids[1]]["code"] == "scheduler_input_truncated"
    assert kept[ids[2]]["reason"].startswith("scheduler_target_not_supported: sqs:createQueue")
    assert kept[ids[2]]["origin"] == "scheduler"
    assert kept[ids[2]]["error_code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert "nightly-invoices" in kept[ids[2]]["schedule_arn"]
    assert [m["Body"] for m in world.drain(target)] == [message_body]
    assert world.visible_ids(dlq) == sorted(ids[1:])


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=5) as running:
        yield running


def test_target_mode_loses_nothing_under_faults_at_the_target(
    world: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    target, failed = world.capture_rule()
    events = [custom_event(n) for n in range(30)]
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(event, **failed) for event in events])
    proxy.fail_batch_entries("SendMessageBatch", "InternalError", rate=0.3)
    refused = '"ORD-00007"'
    proxy.fail_batch_entries(
        "SendMessageBatch", "AccessDenied", match=lambda entry: refused in entry["MessageBody"]
    )
    proxy.fail_calls("SendMessageBatch", "ServiceUnavailable", count=2)
    proxy.drop_responses("SendMessageBatch", count=1)

    run = play(world, tmp_path, [redrive_task("redrive", queue=dlq, concurrency=2)], proxy.url)
    proxy.reset()  # the target works again
    rerun = play(world, tmp_path, [redrive_task("rerun", queue=dlq)], proxy.url)

    first = run.result("redrive")
    (kept,) = first["kept_messages"]  # the refused entry; the others were retried
    assert (kept["code"], kept["disposition"]) == ("AccessDenied", "terminal")
    assert rerun.result("rerun")["redriven"] == 1
    received = [json.loads(m["Body"]) for m in world.drain(target)]
    got = {event["id"] for event in received}
    assert got == {event["id"] for event in events}, "an event was lost"
    # A lost answer may make one batch arrive twice; nothing else is sent twice.
    assert len(received) - len(events) <= 10
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
