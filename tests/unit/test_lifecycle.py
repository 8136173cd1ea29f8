"""Every message accounted for: the lifecycle's rules and the holes they close, on fakes
with injected time and threads, so races run in milliseconds."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from typing import Any

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils import engine as engine_module
from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import Clients
from ansible_collections.redrive.eventbridge.plugins.module_utils.dedupe import (
    Claim,
    DedupeRegistry,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.engine import (
    Mode,
    Redrive,
    RedriveSettings,
    Seams,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import EntryOptions
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import classify
from ansible_collections.redrive.eventbridge.plugins.module_utils.filters import RecordFilter
from ansible_collections.redrive.eventbridge.plugins.module_utils.ledger import (
    Ledger,
    LedgerError,
    State,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.lookups import OnceCache
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import DeliverTo
from ansible_collections.redrive.eventbridge.plugins.module_utils.runner import execute
from ansible_collections.redrive.eventbridge.plugins.module_utils.settle import LateCopies
from tests.support.events import custom_event, eventbridge_dlq_message, rule_arn
from tests.unit.fakes import FakeEvents, FakeSqs, InlineExecutor, client_error

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"
QUARANTINE = "https://sqs.us-east-1.amazonaws.com/123456789012/quarantine"
PARTNER_BUS = "aws.partner/example.com/123/orders"


def inline_seams(**overrides: Any) -> Seams:
    """No threads but the workers' own, no waiting: sleeps are recorded, not slept."""
    slept: list[float] = []
    values: dict[str, Any] = {
        "sleep": slept.append,
        "executor": lambda workers, name: InlineExecutor(),
        "random": random.Random(7).random,
    }
    values.update(overrides)
    return Seams(**values)


def run(sqs: FakeSqs, events: FakeEvents, seams: Seams | None = None, **settings: Any):
    options = {
        "wait_seconds": 0,
        "empty_receives": 1,
        "concurrency": 1,
        "deliver_to": DeliverTo.BUS,
        **settings,
    }
    engine = Redrive(
        Clients(sqs, events),
        RedriveSettings(QUEUE, **options),
        seams=seams or inline_seams(),
    )
    return engine.run()


def add(sqs: FakeSqs, event: dict[str, Any], **message: Any) -> str:
    kwargs = eventbridge_dlq_message(event, **message)
    return sqs.add(kwargs["MessageBody"], kwargs["MessageAttributes"])


def order_of(entry: dict[str, Any]) -> str:
    return json.loads(entry["Detail"])["orderId"]


def accounted(result: dict[str, Any]) -> int:
    return sum(
        result[name]
        for name in ("redriven", "kept", "quarantined", "filtered_out", "duplicates_skipped")
    )


# ---- the ledger's rules ------------------------------------------------------------------


def _record(message_id: str, handle: str = "h1") -> Any:
    return parse_message({"MessageId": message_id, "ReceiptHandle": handle, "Body": "{}"})


def test_the_ledger_deletes_only_what_was_accepted_or_quarantined() -> None:
    ledger = Ledger()
    received = _record("m1")
    ledger.take_new([received])
    with pytest.raises(LedgerError):
        ledger.start_delete(["m1"])
    ledger.move([received], State.DELIVERING)
    with pytest.raises(LedgerError):
        ledger.start_delete(["m1"])
    ledger.move([received], State.ACCEPTED)
    assert [h.receipt_handle for h in ledger.start_delete(["m1"])] == ["h1"]
    ledger.delete_failed(["m1"])
    assert ledger.state("m1") is State.ACCEPTED
    ledger.start_delete(["m1"])
    ledger.deleted(["m1"])
    assert ledger.state("m1") is None and len(ledger) == 0


def test_a_parked_message_is_never_deleted_and_a_new_receive_updates_its_handle() -> None:
    ledger = Ledger()
    ledger.take_new([_record("m1", "h1")], hidden_until=10.0)
    ledger.move([_record("m1")], State.PARKED)
    assert ledger.take_new([_record("m1", "h2")], hidden_until=20.0) == []
    with pytest.raises(LedgerError):
        ledger.move([_record("m1")], State.ACCEPTED)
    assert [h.receipt_handle for h in ledger.due(15.0)] == []
    assert [h.receipt_handle for h in ledger.due(25.0)] == ["h2"]
    assert [h.receipt_handle for h in ledger.release_all()] == ["h2"]


# ---- hole 1: partner buses and RULE_ARNs that cannot be read -------------------------------


def test_partner_bus_rule_arn_puts_on_the_partner_bus() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    partner_rule = rule_arn("my-rule", bus=PARTNER_BUS)
    for number in range(10):
        add(sqs, custom_event(number), rule=partner_rule)

    result = run(sqs, events)

    assert result["redriven"] == 10
    assert {entry["EventBusName"] for entry in events.accepted} == {PARTNER_BUS}
    assert result["by_bus"] == {PARTNER_BUS: {"redriven": 10}}


def test_an_unreadable_rule_arn_keeps_the_message_unless_event_bus_is_given() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = [
        add(sqs, custom_event(n), rule="arn:aws:events:us-east-1:123456789012:rule/")
        for n in range(3)
    ]

    kept = run(sqs, events, quarantine_queue_url=QUARANTINE)

    assert (kept["redriven"], kept["kept"], kept["quarantined"]) == (0, 3, 0)
    assert {item["code"] for item in kept["kept_messages"]} == {"unknown_bus"}
    assert events.accepted == [] and sorted(sqs.messages) == sorted(ids)

    named = run(sqs, events, entry_options=_entry_options(event_bus="orders"))
    assert named["redriven"] == 3
    assert {entry["EventBusName"] for entry in events.accepted} == {"orders"}


def _entry_options(**values: Any) -> Any:
    return EntryOptions(**values)


# ---- hole 2: a passing DescribeEventBus failure is not "bus not found" ---------------------


def test_a_throttled_bus_check_keeps_the_batch_for_later_and_is_asked_again() -> None:
    sqs, events = FakeSqs(), FakeEvents(describe_failures=["ThrottlingException"])
    for number in range(15):
        add(sqs, custom_event(number))

    result = run(sqs, events, quarantine_queue_url=QUARANTINE)

    assert result["quarantined"] == 0 and QUARANTINE not in sqs.sent
    # The next message asks again, and that answer is the one remembered.
    assert (result["kept"], result["redriven"]) == (1, 14)
    assert {item["kind"] for item in result["kept_messages"]} == {"check_failed"}
    assert {item["disposition"] for item in result["kept_messages"]} == {"transient"}
    assert events.calls["DescribeEventBus"] == 2


def test_one_slow_question_does_not_hold_up_the_others() -> None:
    started, release = threading.Event(), threading.Event()

    def compute(key: str) -> tuple[str, bool]:
        if key == "slow":
            started.set()
            release.wait(5)
        return key.upper(), True

    cache: OnceCache[str, str] = OnceCache(compute)
    slow = threading.Thread(target=cache.get, args=("slow",))
    slow.start()
    started.wait(5)
    fast: list[str] = []
    other = threading.Thread(target=lambda: fast.append(cache.get("fast")))
    other.start()
    other.join(2)
    try:
        assert fast == ["FAST"], "a question about another bus waited for the slow one"
    finally:
        release.set()
        slow.join()
    assert cache.get("slow") == "SLOW"


def test_only_definite_answers_are_remembered() -> None:
    calls: Counter[str] = Counter()

    def compute(key: str) -> tuple[int, bool]:
        calls[key] += 1
        return calls[key], calls[key] > 1

    cache: OnceCache[str, int] = OnceCache(compute)
    assert [cache.get("bus"), cache.get("bus"), cache.get("bus")] == [1, 2, 2]


# ---- hole 4: a slot with neither EventId nor ErrorCode -------------------------------------


def test_an_answer_that_neither_accepts_nor_refuses_is_not_quarantined() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    unknown = custom_event(1)
    unknown_id = add(sqs, unknown)
    add(sqs, custom_event(2))
    events.slots[json.dumps(unknown["detail"], ensure_ascii=False, separators=(",", ":"))] = {}

    result = run(sqs, events, quarantine_queue_url=QUARANTINE)

    assert (result["redriven"], result["kept"], result["quarantined"]) == (1, 1, 0)
    item = result["kept_messages"][0]
    assert (item["message_id"], item["code"], item["disposition"]) == (
        unknown_id,
        "MissingEventId",
        "transient",
    )
    assert unknown_id in sqs.messages


# ---- hole 5: quarantine batches bounded by bytes --------------------------------------------


def test_large_poison_messages_are_quarantined_in_batches_within_the_byte_limit() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    poison = ['{"source": "' + "x" * 100_000 + str(n) for n in range(5)]
    for body in poison:
        sqs.add(body, eventbridge_dlq_message({}, body="{}")["MessageAttributes"])

    result = run(sqs, events, quarantine_queue_url=QUARANTINE)

    assert result["quarantined"] == 5 and not sqs.messages
    assert sorted(m["MessageBody"] for m in sqs.sent[QUARANTINE]) == sorted(poison)
    assert result["api_calls"]["SendMessageBatch"] == 3  # 2 + 2 + 1 under 256 KiB


# ---- hole 6: a fatal error later in a receive settles what was accepted before it -----------


def test_accepted_batches_are_settled_when_a_later_batch_hits_a_fatal_error() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    first_bus, second_bus = rule_arn("r", bus="first"), rule_arn("r", bus="second")
    accepted_ids = [add(sqs, custom_event(n), rule=first_bus) for n in range(4)]
    for number in range(4, 8):
        add(sqs, custom_event(number), rule=second_bus)
    put_events = events.put_events

    def deny_second(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if Entries[0]["EventBusName"] == "second":
            raise client_error("AccessDeniedException", "PutEvents")
        return put_events(Entries=Entries)

    events.put_events = deny_second  # type: ignore[method-assign]
    result = run(sqs, events)

    assert result["stopped_by"] == "error"
    assert result["redriven"] == 4 and result["received"] == accounted(result) == 8
    assert not set(accepted_ids) & set(sqs.messages)
    assert len(sqs.visible()) == 4


def test_a_fatal_error_on_a_retry_call_settles_what_the_first_call_accepted() -> None:
    """Ten entries, nine accepted by the first call and one throttled; the retry call is
    refused for good (the session expired). The nine are counted and deleted; only the
    throttled one stays, visible again."""
    sqs = FakeSqs()
    events = FakeEvents(fail=failing_order("ORD-00009", "ThrottlingException"))
    ids = [add(sqs, custom_event(n)) for n in range(10)]
    put_events = events.put_events

    def expire_on_retry(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if events.calls["PutEvents"] == 1:
            raise client_error("ExpiredTokenException", "PutEvents")
        return put_events(Entries=Entries)

    events.put_events = expire_on_retry  # type: ignore[method-assign]
    result = run(sqs, events)

    assert len(events.accepted) == 9
    assert result["stopped_by"] == "error"
    assert result["error"]["code"] == "ExpiredTokenException"
    assert (result["redriven"], result["kept"]) == (9, 1)
    assert list(sqs.messages) == [ids[9]] and sqs.visible() == [ids[9]]
    (kept,) = result["kept_messages"]
    assert (kept["message_id"], kept["code"]) == (ids[9], "ExpiredTokenException")


# ---- hole 7: exact dedupe keys ---------------------------------------------------------------


def test_dedupe_keys_are_exact_for_event_ids_one_bit_apart() -> None:
    """Events whose ids differ in one bit are different events: each is put, none is taken
    for a copy of another and deleted."""
    base = uuid.UUID("7bf73129-1428-4cd3-a780-95db273d1602").int
    sqs, events = FakeSqs(), FakeEvents()
    add(sqs, custom_event(1, id=str(uuid.UUID(int=base))))
    for number in range(2, 11):  # the rest of the first receive
        add(sqs, custom_event(number))
    # Received once the first is accepted: only an inexact key would take them for it.
    add(sqs, custom_event(11, id=str(uuid.UUID(int=base ^ 1))))
    add(sqs, custom_event(12, id=str(uuid.UUID(int=base ^ (1 << 127)))))

    result = run(sqs, events)

    assert (result["redriven"], result["duplicates_skipped"]) == (12, 0)
    assert {"ORD-00001", "ORD-00011", "ORD-00012"} <= {order_of(entry) for entry in events.accepted}


def test_the_registry_keeps_other_event_ids_as_text() -> None:
    registry: DedupeRegistry[str] = DedupeRegistry()
    for event_id in (
        "7bf73129-1428-4cd3-a780-95db273d1602",
        "7BF73129-1428-4CD3-A780-95DB273D1602",
        "order-1",
    ):
        assert registry.claim("bus", event_id, "x")[0] is Claim.OWNER
        registry.resolve("bus", event_id, None)
    assert registry.claim("bus", "order-1", "y")[0] is Claim.ACCEPTED
    assert registry.claim("other-bus", "order-1", "y")[0] is Claim.OWNER


# ---- hole 8: an error after the run keeps the counts ----------------------------------------


def test_a_failing_call_after_the_run_returns_the_result_with_the_error() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    for number in range(3):
        add(sqs, custom_event(number))
    get_queue_attributes = sqs.get_queue_attributes
    calls = Counter[str]()

    def flaky(QueueUrl: str, AttributeNames: list[str]) -> Any:
        calls["GetQueueAttributes"] += 1
        if "ApproximateNumberOfMessages" in AttributeNames and calls["GetQueueAttributes"] > 2:
            raise client_error("ServiceUnavailable", "GetQueueAttributes")
        return get_queue_attributes(QueueUrl=QueueUrl, AttributeNames=AttributeNames)

    sqs.get_queue_attributes = flaky  # type: ignore[method-assign]
    params = {
        "queue": QUEUE,
        "wait_seconds": 0,
        "empty_receives": 1,
        "concurrency": 1,
        "deliver_to": "bus",
    }
    result = execute(Clients(sqs, events), params)

    assert result["redriven"] == 3
    assert result["error"]["code"] == "ServiceUnavailable"
    assert result["queue_depth_after"] is None


# ---- hole 9: deletes are retried for as long as the run lasts --------------------------------


def test_a_delete_that_fails_again_and_again_is_retried_until_it_succeeds() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = [add(sqs, custom_event(n)) for n in range(5)]
    sqs.delete_failures = {message_id: 5 for message_id in ids}

    result = run(sqs, events)

    assert result["redriven"] == 5 and result["delete_failures"] == 0
    assert not sqs.messages


def test_eight_percent_transient_delete_failures_leave_nothing_behind() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    for number in range(2000):
        add(sqs, custom_event(number))
    rng = random.Random(3)
    delete = sqs.delete_message_batch

    def flaky(QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        failing = [e for e in Entries if rng.random() < 0.08]
        answer = delete(QueueUrl=QueueUrl, Entries=[e for e in Entries if e not in failing])
        answer["Failed"] = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failing
        ]
        return answer

    sqs.delete_message_batch = flaky  # type: ignore[method-assign]
    result = run(sqs, events, concurrency=4, seams=inline_seams(executor=_threads))

    assert result["redriven"] == 2000 and result["delete_failures"] == 0
    assert not sqs.messages


def _threads(workers: int, name: str) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)


def test_a_delete_sqs_keeps_refusing_is_reported_with_its_message_id() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = [add(sqs, custom_event(n)) for n in range(3)]
    sqs.delete_failures = {ids[1]: 1000}

    result = run(sqs, events)

    assert result["delete_failures"] == 1
    assert [item["message_id"] for item in result["delete_failed_messages"]] == [ids[1]]
    assert list(sqs.messages) == [ids[1]] and sqs.visible() == [ids[1]]


def test_the_heartbeat_retries_failed_deletes_while_the_run_goes_on() -> None:
    """Deletes fail over several heartbeats, then succeed: they are done during the run,
    not left to the final sweep. A delete refused past the sweep is reported by id."""
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    passing, refused, clean = (add(sqs, custom_event(n)) for n in range(3))
    sqs.delete_failures = {passing: 3, refused: 1000}
    engine: list[Redrive] = []
    receive = sqs.receive_message
    gone_at: dict[str, int] = {}  # message id -> the receive during which it was deleted
    refused_tries: list[int] = []  # deletes of `refused` tried, at each receive

    def receive_after_a_heartbeat(**kwargs: Any) -> dict[str, Any]:
        now[0] += 5  # each receive takes 5 s: every back-off has passed at the next tick
        engine[0].tick()
        receives = sqs.calls["ReceiveMessage"] + 1
        for message_id in (passing, refused, clean):
            if message_id not in sqs.messages:
                gone_at.setdefault(message_id, receives)
        refused_tries.append(sum(refused in batch for batch in sqs.delete_batches))
        return receive(**kwargs)

    sqs.receive_message = receive_after_a_heartbeat  # type: ignore[method-assign]
    settings = RedriveSettings(
        QUEUE, deliver_to=DeliverTo.BUS, wait_seconds=0, empty_receives=8, concurrency=1
    )
    # The test drives the heartbeat: its own thread ends at once.
    seams = inline_seams(clock=lambda: now[0], wait=lambda finished, seconds: True)
    engine.append(Redrive(Clients(sqs, events), settings, seams=seams))
    result = engine[0].run()

    assert sqs.calls["ReceiveMessage"] == 9  # one with the messages, eight empty
    assert gone_at[clean] == 2  # deleted after the first receive
    # Failed at the delete after the receive and at the ticks of receives 2 and 3, then
    # deleted by the tick of receive 4: during the run, five receives before its end.
    assert gone_at[passing] == 4
    # Tried once after the first receive, then once more at every tick.
    assert refused_tries == [0, 2, 3, 4, 5, 6, 7, 8, 9]
    # The final sweep tried ten more times; then the delete is reported with its id.
    assert sum(refused in batch for batch in sqs.delete_batches) == 9 + 10
    assert (result["redriven"], result["delete_failures"]) == (3, 1)
    (failed,) = result["delete_failed_messages"]
    assert failed["message_id"] == refused
    assert failed["reason"].startswith("delete_failed: InternalError")
    assert list(sqs.messages) == [refused] and sqs.visible() == [refused]


# ---- hole 10: copies share the delete batch of what was accepted ----------------------------


def test_copies_are_deleted_in_the_same_batch_as_the_accepted() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    rng = random.Random(11)
    seeded = []
    for number in range(1000):
        event = custom_event(number)
        seeded.append(event)
        add(sqs, event)
        if rng.random() < 0.08:
            add(sqs, dict(event))
    messages = len(sqs.messages)

    result = run(sqs, events, concurrency=1)

    assert result["redriven"] == 1000 and result["received"] == messages
    calls = sum(result["api_calls"].values())
    assert calls / messages <= 0.305, result["api_calls"]
    assert all(len(batch) <= 10 for batch in sqs.delete_batches)


def test_a_waiting_copy_is_deleted_with_its_owner() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    event = custom_event(1)
    owner, copy = add(sqs, event), add(sqs, dict(event))

    result = run(sqs, events)

    assert (result["redriven"], result["duplicates_skipped"]) == (1, 1)
    assert sqs.delete_batches == [[owner, copy]]


class _OrderedSqs(FakeSqs):
    """Receives after the first two wait until two deletes were made, so each worker's
    next receive comes back only after both first receives were settled."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.receives = 0
        self.two_deletes = threading.Event()

    def receive_message(self, **request: Any):
        with self._lock:
            self.receives += 1
            later = self.receives > 2
        if later:
            self.two_deletes.wait(5)  # a bound against hanging, not a timing
        return super().receive_message(**request)

    def delete_message_batch(self, **request: Any):
        answer = super().delete_message_batch(**request)
        if len(self.delete_batches) >= 2:
            self.two_deletes.set()
        return answer


class _SecondFirstEvents(FakeEvents):
    """The put of the receive holding ORD-00011 is answered before the other one."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.second_put = threading.Event()

    def put_events(self, Entries: list[dict[str, Any]]):
        second = any(order_of(entry) == "ORD-00011" for entry in Entries)
        if not second:
            self.second_put.wait(5)
        answer = super().put_events(Entries)
        if second:
            self.second_put.set()
        return answer


def test_a_copy_whose_event_another_worker_delivers_joins_its_own_receives_delete() -> None:
    """Two workers, two receives of 10; the second holds a copy of an event of the first.
    Whichever worker claims the event, the copy waits for the other worker's put, and is
    deleted in its own receive's DeleteMessageBatch: two deletes of 10, not 10 + 9 + 1."""
    sqs, events = _OrderedSqs(), _SecondFirstEvents()
    first = [custom_event(number) for number in range(1, 11)]
    for event in first:
        add(sqs, event)
    add(sqs, dict(first[0]))
    for number in range(11, 20):
        add(sqs, custom_event(number))
    seams = Seams(sleep=lambda seconds: None, random=random.Random(7).random)

    result = run(sqs, events, seams, concurrency=2)

    assert (result["redriven"], result["duplicates_skipped"]) == (19, 1)
    assert sorted(len(batch) for batch in sqs.delete_batches) == [10, 10]
    assert not sqs.messages


def test_late_copies_are_taken_only_while_their_receive_waits_for_them() -> None:
    late = LateCopies()
    late.expect("copy-1")
    late.expect("copy-2")
    late.expect("copy-3")
    assert late.offer("copy-1")
    assert not late.offer("not-expected")
    late.withdraw("copy-2")  # its event failed: the owner keeps it with that failure
    assert late.waiting
    late.close()
    assert not late.offer("copy-3")  # too late: the owner deletes it in its own batch
    assert late.collect() == ["copy-1"]
    assert not late.waiting


def test_a_waiting_copy_shares_the_fate_of_a_failed_owner() -> None:
    sqs, events = FakeSqs(), FakeEvents(fail=lambda entry, attempt: "MalformedDetail")
    event = custom_event(1)
    add(sqs, event)
    copy = add(sqs, dict(event))

    result = run(sqs, events, quarantine_queue_url=QUARANTINE)

    assert result["quarantined"] == 2
    reasons = {item["message_id"]: item["reason"] for item in result["kept_messages"]}
    assert reasons[copy].startswith("duplicate_of_kept_copy: MalformedDetail")


# ---- races, without waiting on real time ----------------------------------------------------


def test_heartbeat_during_a_delete_extends_only_what_is_still_held() -> None:
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    for number in range(3):
        add(sqs, custom_event(number))
    engine: list[Redrive] = []
    delete = sqs.delete_message_batch

    def delete_then_tick(QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        now[0] += 100  # the delete outlasts the visibility timeout
        engine[0].tick()  # the heartbeat fires while the delete is in flight
        return delete(QueueUrl=QueueUrl, Entries=Entries)

    sqs.delete_message_batch = delete_then_tick  # type: ignore[method-assign]
    settings = RedriveSettings(
        QUEUE,
        deliver_to=DeliverTo.BUS,
        wait_seconds=0,
        empty_receives=1,
        concurrency=1,
        visibility_timeout=120,
    )
    engine.append(Redrive(Clients(sqs, events), settings, seams=inline_seams(clock=lambda: now[0])))
    result = engine[0].run()

    assert result["redriven"] == 3 and not sqs.messages
    assert sqs.calls["ChangeMessageVisibilityBatch"] == 1  # the in-flight batch, not after it
    assert len(engine[0].ledger) == 0


def parking_all_but(message_ids: list[str]) -> RedriveSettings:
    """One worker on the bus with a 10 s visibility timeout, selecting only `message_ids`:
    every other message is filtered out and parked until the run ends."""
    return RedriveSettings(
        QUEUE,
        deliver_to=DeliverTo.BUS,
        wait_seconds=0,
        empty_receives=1,
        concurrency=1,
        visibility_timeout=10,
        record_filter=_filter(message_ids=message_ids),
    )


def test_parked_messages_stay_hidden_while_a_long_run_goes_on() -> None:
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    ids = [add(sqs, custom_event(n)) for n in range(30)]
    engine: list[Redrive] = []
    receive = sqs.receive_message

    def slow_receive(**kwargs: Any) -> dict[str, Any]:
        now[0] += 4  # each receive takes 4 s against a 10 s visibility timeout
        engine[0].tick()
        return receive(**kwargs)

    sqs.receive_message = slow_receive  # type: ignore[method-assign]
    settings = parking_all_but(ids[-2:])
    engine.append(Redrive(Clients(sqs, events), settings, seams=inline_seams(clock=lambda: now[0])))
    result = engine[0].run()

    assert (result["received"], result["filtered_out"], result["redriven"]) == (30, 28, 2)
    assert result["stopped_by"] == "drained"
    assert all(message.receives == 1 for message in sqs.messages.values())


def test_a_receive_of_messages_the_run_holds_is_not_an_empty_one() -> None:
    """An extension fails, the first ten (filtered out, parked) reappear and come back in
    one receive: the queue is not drained, the next receive brings the other ten."""
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    ids = [add(sqs, custom_event(n)) for n in range(20)]
    engine: list[Redrive] = []
    receive = sqs.receive_message

    def lapse_before_the_second_receive(**kwargs: Any) -> dict[str, Any]:
        if sqs.calls["ReceiveMessage"] == 1:
            now[0] += 20  # past the 10 s timeout: the tick's extension fails
            engine[0].tick()
        return receive(**kwargs)

    def unavailable(**request: Any) -> dict[str, Any]:
        raise client_error("ServiceUnavailable", "ChangeMessageVisibilityBatch")

    sqs.receive_message = lapse_before_the_second_receive  # type: ignore[method-assign]
    sqs.change_message_visibility_batch = unavailable  # type: ignore[method-assign]
    settings = parking_all_but(ids[-2:])
    seams = inline_seams(clock=lambda: now[0], wait=lambda finished, seconds: True)
    engine.append(Redrive(Clients(sqs, events), settings, seams=seams))
    result = engine[0].run()

    assert sqs.messages[ids[0]].receives == 2  # the lapse happened
    assert (result["received"], result["filtered_out"], result["redriven"]) == (20, 18, 2)
    assert result["stopped_by"] == "drained"
    assert sorted(order_of(entry) for entry in events.accepted) == ["ORD-00018", "ORD-00019"]


class _InFlightQuotaSqs(FakeSqs):
    """SQS's in-flight quota, small: with this many messages hidden, a long poll answers
    empty (no error), a short poll OverLimit."""

    quota = 25

    def receive_message(self, **request: Any):
        with self._lock:
            hidden = sum(1 for m in self.messages.values() if m.visible_at > self.clock())
        if hidden >= self.quota:
            if not request.get("WaitTimeSeconds"):
                raise client_error("OverLimit", "ReceiveMessage")
            self.calls["ReceiveMessage"] += 1
            return {}
        return super().receive_message(**request)


@pytest.mark.parametrize("wait_seconds", [1, 0], ids=["long-poll", "short-poll"])
def test_a_run_at_the_in_flight_quota_does_not_claim_the_queue_drained(
    monkeypatch: pytest.MonkeyPatch, wait_seconds: int
) -> None:
    """Kept (filtered out) messages stay hidden until the run ends; once the run holds as
    many as SQS lets be in flight, receives come back empty while 10 are unseen."""
    monkeypatch.setattr(engine_module, "IN_FLIGHT_LIMIT", _InFlightQuotaSqs.quota)
    sqs, events = _InFlightQuotaSqs(), FakeEvents()
    ids = [add(sqs, custom_event(n)) for n in range(40)]

    result = run(
        sqs, events, record_filter=_filter(message_ids=ids[-2:]), wait_seconds=wait_seconds
    )

    assert result["stopped_by"] == "in_flight_limit"
    assert (result["received"], result["filtered_out"], result["redriven"]) == (30, 30, 0)
    assert "error" not in result
    assert sqs.visible() == sorted(ids)  # all released: the next run sees them


def _filter(**values: Any) -> Any:
    return RecordFilter.build(**values)


def test_stop_during_a_put_finishes_the_batch_and_releases_the_rest() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    for number in range(30):
        add(sqs, custom_event(number))
    engine: list[Redrive] = []
    put_events = events.put_events

    def put_then_stop(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        engine[0].stop()  # Ctrl-C, SIGTERM
        return put_events(Entries=Entries)

    events.put_events = put_then_stop  # type: ignore[method-assign]
    settings = RedriveSettings(
        QUEUE, deliver_to=DeliverTo.BUS, wait_seconds=0, empty_receives=1, concurrency=1
    )
    engine.append(Redrive(Clients(sqs, events), settings, seams=inline_seams()))
    result = engine[0].run()

    assert result["stopped_by"] == "interrupted"
    assert (result["received"], result["redriven"]) == (10, 10)
    assert len(sqs.messages) == 20 and len(sqs.visible()) == 20


def test_every_back_off_of_a_run_is_drawn_from_the_runs_random() -> None:
    """Throttled entries (the shared pacer's cool-down, the dispatcher's back-off) and a
    quarantine send to retry (the queue calls' back-off): with a random that always says
    0, no back-off waits at all."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    sqs = FakeSqs(clock=lambda: now[0])
    events = FakeEvents(fail=lambda entry, attempt: "ThrottlingException" if attempt < 3 else None)
    for number in range(3):
        add(sqs, custom_event(number))
    sqs.add("not json")
    send = sqs.send_message_batch

    def send_after_a_passing_failure(QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        if sqs.calls["SendMessageBatch"] == 0:
            sqs.calls["SendMessageBatch"] += 1
            failed = [
                {"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries
            ]
            return {"Successful": [], "Failed": failed}
        return send(QueueUrl=QueueUrl, Entries=Entries)

    sqs.send_message_batch = send_after_a_passing_failure  # type: ignore[method-assign]
    seams = inline_seams(clock=lambda: now[0], sleep=sleep, random=lambda: 0.0)

    result = run(sqs, events, seams, quarantine_queue_url=QUARANTINE)

    assert (result["redriven"], result["quarantined"]) == (3, 1)
    assert sqs.calls["SendMessageBatch"] == 2 and events.calls["PutEvents"] == 3
    assert len(slept) >= 3 and set(slept) == {0.0}


class _CtrlC:
    """Ctrl-C as Python delivers it: a KeyboardInterrupt in the main thread, which waits in
    `_wait_for` for its workers, raised once while a worker is in its put."""

    def __init__(self) -> None:
        self.pressed = threading.Event()  # the worker is in its put
        self.resumed = threading.Event()  # the main thread waits again, after stop()
        self.raised = False

    def executor(self, workers: int, name: str) -> Any:
        if name != "redrive":
            return InlineExecutor()
        return _Interrupting(_threads(workers, name), self)


class _Interrupting:
    def __init__(self, pool: Any, ctrl_c: _CtrlC) -> None:
        self._pool, self._ctrl_c = pool, ctrl_c

    def submit(self, fn: Any, *args: Any) -> Any:
        return _InterruptedWait(self._pool.submit(fn, *args), self._ctrl_c)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class _InterruptedWait:
    def __init__(self, future: Any, ctrl_c: _CtrlC) -> None:
        self._future, self._ctrl_c = future, ctrl_c

    def result(self, timeout: float | None = None) -> Any:
        if not self._ctrl_c.raised:
            self._ctrl_c.pressed.wait(5)  # a bound against hanging, not a timing
            self._ctrl_c.raised = True
            raise KeyboardInterrupt
        self._ctrl_c.resumed.set()
        return self._future.result(timeout)


def test_ctrl_c_settles_the_accepted_batch_and_releases_what_is_held() -> None:
    sqs = FakeSqs()
    events = FakeEvents(fail=failing_order("ORD-00003", "MalformedDetail"))
    ids = [add(sqs, custom_event(n)) for n in range(20)]
    ctrl_c = _CtrlC()
    put_events = events.put_events

    def put_while_ctrl_c_is_pressed(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ctrl_c.pressed.set()
        ctrl_c.resumed.wait(5)  # the answer comes after the run was told to stop
        return put_events(Entries=Entries)

    events.put_events = put_while_ctrl_c_is_pressed  # type: ignore[method-assign]
    result = run(sqs, events, inline_seams(executor=ctrl_c.executor))

    assert ctrl_c.raised and result["stopped_by"] == "interrupted"
    assert (result["received"], result["redriven"], result["kept"]) == (10, 9, 1)
    accepted = [ids[n] for n in range(10) if n != 3]
    assert sorted(m for batch in sqs.delete_batches for m in batch) == accepted
    # The kept message and the ten never received are all visible again.
    assert sqs.visible() == sorted([ids[3], *ids[10:]]) == sorted(sqs.messages)
    assert events.calls["PutEvents"] == 1


def test_check_mode_runs_the_pipeline_without_a_mutating_call() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    event = custom_event(1)
    add(sqs, event)
    add(sqs, dict(event))
    sqs.add("not json")
    for number in range(2, 5):
        add(sqs, custom_event(number))

    settings = RedriveSettings(
        QUEUE, deliver_to=DeliverTo.BUS, wait_seconds=0, quarantine_queue_url=QUARANTINE
    )
    result = Redrive(Clients(sqs, events), settings, preview=True, preview_limit=100).run()

    assert (result["redriven"], result["duplicates_skipped"], result["quarantined"]) == (4, 1, 1)
    assert set(sqs.calls) == {"ReceiveMessage"} and events.calls["PutEvents"] == 0
    assert len(result["messages"]) == 6
    assert {item["outcome"] for item in result["messages"]} == {
        "redriven",
        "duplicates_skipped",
        "quarantined",
    }


def test_a_handed_batch_reports_exactly_what_is_not_done_and_deletes_nothing() -> None:
    sqs, events = FakeSqs(), FakeEvents(fail=failing_order("ORD-00003", "ThrottlingException"))
    for number in range(5):
        add(sqs, custom_event(number))
    sqs.add("not json")
    messages = sqs.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10, VisibilityTimeout=30)
    calls_before = dict(sqs.calls)
    settings = RedriveSettings(
        QUEUE,
        deliver_to=DeliverTo.BUS,
        quarantine_queue_url=QUARANTINE,
        entry_attempts=2,
    )
    engine = Redrive(Clients(sqs, events), settings, seams=inline_seams(), mode=Mode.HANDED)

    result = engine.settle_batch(messages["Messages"])

    throttled = next(m["MessageId"] for m in messages["Messages"] if "ORD-00003" in m["Body"])
    assert result["not_done"] == [throttled]
    assert (result["redriven"], result["quarantined"], result["kept"]) == (4, 1, 1)
    assert {k: v for k, v in sqs.calls.items() if calls_before.get(k) != v} == {
        "SendMessageBatch": 1
    }


def failing_order(order: str, code: str):
    return lambda entry, attempt: code if order in entry["Detail"] else None


def test_a_reason_is_one_bounded_line_even_when_the_answer_is_a_page() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    add(sqs, custom_event(1))
    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + "x" * 5000 + "</body>"

    def bad_gateway(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise client_error("502", "PutEvents", page)

    events.put_events = bad_gateway  # type: ignore[method-assign]
    result = run(sqs, events, quarantine_queue_url=QUARANTINE)

    (kept,) = result["kept_messages"]
    assert "\n" not in kept["reason"] and len(kept["reason"]) <= 300
    assert kept["reason"].startswith("502: whole request failed: 502 Bad Gateway")
    assert kept["disposition"] == "transient" and result["quarantined"] == 0


def test_an_error_that_ends_the_run_is_one_short_line_even_when_the_answer_is_a_page() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    add(sqs, custom_event(1))
    page = (
        "<html>\n<head><title>500 Internal Server Error</title></head>\n<body>\n"
        + "<p>upstream failed</p>\n" * 400
        + "</body>\n</html>"
    )

    def server_error(**request: Any) -> dict[str, Any]:
        raise client_error("500", "ReceiveMessage", page)

    sqs.receive_message = server_error  # type: ignore[method-assign]
    result = run(sqs, events)

    assert result["stopped_by"] == "error"
    message = result["error"]["message"]
    assert "\n" not in message and "<" not in message and len(message) <= 400
    assert message.startswith("ReceiveMessage: 500: 500 Internal Server Error upstream failed")


@pytest.mark.parametrize(
    ("code", "per_entry", "expected"),
    [
        ("ThrottlingException", False, "retry"),
        ("ThrottlingException", True, "retry"),
        ("ProvisionedThroughputExceededException", True, "retry"),
        ("InternalFailure", True, "retry"),
        ("MissingEventId", True, "transient"),
        ("AccessDeniedException", False, "fatal"),
        ("AccessDeniedException", True, "terminal"),
        ("NotAuthorizedForSourceException", True, "terminal"),
        ("AWS.SimpleQueueService.NonExistentQueue", False, "fatal"),
        ("ValidationException", False, "terminal"),
    ],
)
def test_one_table_classifies_every_code(code: str, per_entry: bool, expected: str) -> None:
    assert classify(code, per_entry=per_entry).value == expected
