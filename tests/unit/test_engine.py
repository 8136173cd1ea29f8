"""Engine semantics against in-memory clients (the moto-backed tests cover the wire)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import Clients
from ansible_collections.redrive.eventbridge.plugins.module_utils.engine import (
    Redrive,
    RedriveSettings,
    SettingsError,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import EntryOptions
from ansible_collections.redrive.eventbridge.plugins.module_utils.filters import RecordFilter
from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import DeliverTo
from tests.support.events import body_of, custom_event, eventbridge_dlq_message, malformed_message
from tests.unit.fakes import FakeEvents, FakeSqs

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"


def seed(sqs: FakeSqs, count: int, **event: Any) -> dict[str, str]:
    """Message id → order id of each seeded event."""
    ids = {}
    for number in range(count):
        message = eventbridge_dlq_message(custom_event(number, **event))
        ids[sqs.add(message["MessageBody"], message["MessageAttributes"])] = f"ORD-{number:05d}"
    return ids


def order_of(entry: dict[str, Any]) -> str:
    return json.loads(entry["Detail"])["orderId"]


def run(sqs: FakeSqs, events: FakeEvents, **settings: Any) -> dict[str, Any]:
    options = {
        "wait_seconds": 0,
        "empty_receives": 1,
        "check_buses": False,
        "deliver_to": DeliverTo.BUS,
        **settings,
    }
    return Redrive(Clients(sqs, events), RedriveSettings(QUEUE, **options)).run()


def failing(codes: dict[str, str], until_attempt: int = 99):
    """Fail entries of these order ids with a code up to an attempt number."""

    def fail(entry: dict[str, Any], attempt: int) -> Optional[str]:
        code = codes.get(order_of(entry))
        return code if code and attempt <= until_attempt else None

    return fail


@pytest.mark.parametrize("concurrency", [1, 4, 8])
def test_drain_deletes_exactly_the_accepted(concurrency: int) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed(sqs, 95)
    events.fail = failing({"ORD-00003": "MalformedDetail", "ORD-00050": "AccessDeniedException"})

    result = run(sqs, events, concurrency=concurrency)

    assert (result["redriven"], result["kept"], result["received"]) == (93, 2, 95)
    assert sorted(order_of(e) for e in events.accepted) == sorted(
        f"ORD-{n:05d}" for n in range(95) if n not in (3, 50)
    )
    assert len(sqs.messages) == 2 and len(sqs.visible()) == 2  # kept and visible again
    assert {item["reason"].split(":")[0] for item in result["kept_messages"]} == {
        "MalformedDetail",
        "AccessDeniedException",
    }
    assert result["stopped_by"] == "drained"


def test_retryable_entries_are_retried_then_delivered() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed(sqs, 10)
    events.fail = failing(
        {"ORD-00001": "ThrottlingException", "ORD-00002": "InternalFailure"}, until_attempt=2
    )

    result = run(sqs, events)

    assert (result["redriven"], result["kept"]) == (10, 0)
    assert not sqs.messages
    assert events.calls["PutEvents"] == 3  # first try, then two retries of the failed two


def test_retry_budget_exhausted_keeps_the_message() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed(sqs, 3)
    events.fail = failing({"ORD-00001": "ThrottlingException"})

    result = run(sqs, events, entry_attempts=3)

    assert (result["redriven"], result["kept"]) == (2, 1)
    assert "gave up after 3 attempts" in result["kept_messages"][0]["reason"]
    assert len(sqs.visible()) == 1


def test_messages_stay_hidden_while_their_put_outlasts_the_visibility_timeout() -> None:
    """A put slowed down past the visibility timeout: the engine extends the timeout of
    the messages it works on, so another receiver does not get them meanwhile."""
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    seed(sqs, 10)
    put_events = events.put_events
    seen_by_another_receiver: list[Any] = []

    def slow_put(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if not seen_by_another_receiver:
            now[0] += 5
            deadline = time.monotonic() + 10  # the extension comes a third of 10 s in
            while not sqs.calls["ChangeMessageVisibilityBatch"] and time.monotonic() < deadline:
                time.sleep(0.05)
            now[0] += 6  # past the first timeout, within the extended one
            other = sqs.receive_message(
                QueueUrl=QUEUE, MaxNumberOfMessages=10, VisibilityTimeout=10
            )
            seen_by_another_receiver.append(other.get("Messages", []))
        return put_events(Entries=Entries)

    events.put_events = slow_put  # type: ignore[method-assign]
    result = run(sqs, events, concurrency=1, visibility_timeout=10)

    assert seen_by_another_receiver == [[]]
    assert result["redriven"] == 10 and sqs.messages == {}


def test_transient_failures_stay_in_the_dlq_even_with_a_quarantine() -> None:
    """Found by the reliability suite: a throttled entry that ran out of attempts, and the
    other copies of its event, went to quarantine, where no rerun would find them."""
    sqs, events = FakeSqs(), FakeEvents()
    first, copy_of_first = custom_event(1), custom_event(1)
    copy_of_first["id"] = first["id"]
    for event in (custom_event(0), first, copy_of_first, custom_event(2)):
        sqs.add(body_of(event))
    copy_id = list(sqs.messages)[2]
    events.fail = failing({"ORD-00001": "ThrottlingException", "ORD-00002": "MalformedDetail"})

    result = run(
        sqs, events, entry_attempts=2, concurrency=1, quarantine_queue_url="https://q/quarantine"
    )

    assert (result["redriven"], result["kept"], result["quarantined"]) == (1, 2, 1)
    kept = {item["message_id"]: item["reason"] for item in result["kept_messages"]}
    assert kept[copy_id].startswith("duplicate_of_kept_copy: ThrottlingException")
    quarantined = sqs.sent["https://q/quarantine"]
    assert [json.loads(m["MessageBody"])["detail"]["orderId"] for m in quarantined] == ["ORD-00002"]
    assert len(sqs.visible()) == 2


def test_terminal_messages_are_not_retried_in_the_same_run() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed(sqs, 2)
    events.fail = failing({"ORD-00000": "InvalidArgument"})

    run(sqs, events, empty_receives=3)

    assert events.attempts[next(iter(k for k in events.attempts if "ORD-00000" in k))] == 1
    assert next(iter(sqs.messages.values())).receives == 1


def test_delete_failures_are_retried_and_reported() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = seed(sqs, 4)
    flaky, broken = list(ids)[:2]
    sqs.delete_failures = {flaky: 1, broken: 99}

    result = run(sqs, events)

    assert result["redriven"] == 4
    assert result["delete_failures"] == 1
    assert result["delete_failed_messages"][0]["message_id"] == broken
    assert "may be received and redriven again" in result["delete_failed_messages"][0]["reason"]
    assert list(sqs.messages) == [broken]


def test_unredrivable_records_are_kept_with_reason_or_quarantined() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    bad = malformed_message()
    bad_id = sqs.add(bad["MessageBody"], bad["MessageAttributes"])
    seed(sqs, 1)

    kept = run(sqs, events)
    assert kept["kept_messages"] == [
        {
            "message_id": bad_id,
            "outcome": "kept",
            "reason": "invalid_json",
            "kind": "bad_record",
            "code": "invalid_json",
            "disposition": "terminal",
            "origin": "eventbridge_dlq",
        }
    ]
    assert list(sqs.messages) == [bad_id]

    moved = run(sqs, events, quarantine_queue_url="https://q/quarantine")
    assert moved["quarantined"] == 1 and not sqs.messages
    copy = sqs.sent["https://q/quarantine"][0]
    assert copy["MessageBody"] == bad["MessageBody"]
    assert copy["MessageAttributes"]["REDRIVE_REASON"]["StringValue"] == "invalid_json"


@pytest.mark.parametrize("concurrency", [1, 8])
def test_copies_of_one_event_are_put_once(concurrency: int) -> None:
    sqs, events = FakeSqs(), FakeEvents(delay=0.01)
    event = custom_event(1)
    for _round in range(30):
        sqs.add(body_of(event))
    seed(sqs, 20)

    result = run(sqs, events, concurrency=concurrency)

    assert result["redriven"] == 21
    assert result["duplicates_skipped"] == 29
    assert [order_of(e) for e in events.accepted].count(
        "ORD-00001"
    ) == 2  # one copy + the seeded one
    assert not sqs.messages


def test_a_message_received_again_is_deleted_by_its_newest_handle() -> None:
    """Found by the reliability suite: a message whose visibility ran out during a slow
    put was received again by another worker; the delete used the first handle, which
    SQS accepts without deleting, and the message came back to be handled twice."""
    now = [0.0]
    sqs, events = FakeSqs(clock=lambda: now[0]), FakeEvents()
    seed(sqs, 10)
    put_events = events.put_events

    def slow_put(Entries: list[dict[str, Any]]) -> dict[str, Any]:
        now[0] += 11  # past the visibility timeout: the other worker receives them again
        deadline = time.monotonic() + 10
        while sqs.calls["ReceiveMessage"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return put_events(Entries=Entries)

    events.put_events = slow_put  # type: ignore[method-assign]
    result = run(sqs, events, concurrency=2, visibility_timeout=10)

    assert (result["redriven"], result["received"]) == (10, 10)
    assert len(events.accepted) == 10
    assert sqs.messages == {}


def test_copies_stay_when_the_first_copy_fails() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    event = custom_event(1)
    for _round in range(3):
        sqs.add(body_of(event))
    events.fail = failing({"ORD-00001": "MalformedDetail"})

    result = run(sqs, events, concurrency=1)

    assert (result["redriven"], result["kept"], result["duplicates_skipped"]) == (0, 3, 0)
    assert len(sqs.visible()) == 3


def test_dedupe_off_puts_every_copy() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    event = custom_event(1)
    for _round in range(3):
        sqs.add(body_of(event))
    result = run(sqs, events, dedupe=False)
    assert result["redriven"] == 3 and len(events.accepted) == 3


def test_filtered_out_messages_are_left_visible_and_untouched() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = list(seed(sqs, 5))
    result = run(sqs, events, record_filter=RecordFilter.build(message_ids=ids[:2]))
    assert (result["redriven"], result["filtered_out"]) == (2, 3)
    assert sqs.visible() == ids[2:]


def test_fatal_error_stops_and_releases_everything() -> None:
    sqs, events = FakeSqs(), FakeEvents(whole_call_error="AccessDeniedException")
    seed(sqs, 25)

    result = run(sqs, events, concurrency=4)

    assert result["stopped_by"] == "error"
    assert result["error"]["code"] == "AccessDeniedException"
    assert result["error"]["action"] == "PutEvents"
    assert result["redriven"] == 0
    assert len(sqs.visible()) == 25


def test_non_fatal_whole_call_error_keeps_the_batch() -> None:
    sqs, events = FakeSqs(), FakeEvents(whole_call_error="ValidationException")
    seed(sqs, 3)
    result = run(sqs, events)
    assert (result["redriven"], result["kept"]) == (0, 3)
    assert result["kept_messages"][0]["reason"].startswith(
        "ValidationException: whole request failed"
    )
    assert len(sqs.visible()) == 3


def test_api_economy_on_a_full_queue() -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed(sqs, 1000)
    result = run(sqs, events, concurrency=1)
    calls = sum(result["api_calls"].values())
    assert result["redriven"] == 1000
    assert calls / 1000 <= 0.31


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"concurrency": 0}, "concurrency must be between 1 and 64"),
        ({"max_messages": 0}, "max_messages must be at least 1"),
        ({"max_seconds": -5}, "max_seconds must be at least 1"),
        ({"rate_limit": 0}, "rate_limit must be at least 1"),
        ({"wait_seconds": 21}, "wait_seconds must be between 0 and 20"),
        ({"max_request_bytes": 10}, "max_request_bytes must be between"),
        ({"quarantine_queue_url": QUEUE}, "must not be the queue being redriven"),
    ],
)
def test_absurd_settings_are_refused_before_any_call(
    settings: dict[str, Any], message: str
) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    with pytest.raises(SettingsError, match=message):
        run(sqs, events, **settings)
    assert not sqs.calls and not events.calls


def test_unreadable_403_is_fatal_and_reported_with_a_hint() -> None:
    sqs, events = FakeSqs(), FakeEvents(whole_call_error="403")
    seed(sqs, 3)
    result = run(sqs, events)
    assert result["stopped_by"] == "error"
    assert set(result["error"]) == {"code", "message", "hint", "action"}
    assert len(sqs.visible()) == 3


# ---- the rule check: what each answer of DescribeRule does under keep and put ---------------

RULE = "billing-ingest"  # the rule every seeded message names (tests.support.events)
UNMATCHED_PATTERN = '{"source": ["com.example.other"]}'


@dataclass(frozen=True)
class RuleCase:
    answer: dict[str, Any]  # what DescribeRule answers (FakeEvents.rules)
    code: str  # the kept message's code under keep
    reason: str  # a part of its reason
    known: bool  # known not to match (unmatched_rule_put) or unknown (unchecked_rule_put)
    put_reason: str  # the key of rule_check_put_reasons under put


RULE_CASES = {
    "no_longer_matches": RuleCase(
        {"EventPattern": UNMATCHED_PATTERN},
        "no_longer_matches_rule",
        "source: com.example.shop not in [com.example.other] (rule billing-ingest on default)",
        True,
        "no_longer_matches_rule",
    ),
    "rule_deleted": RuleCase(
        {"error": "ResourceNotFoundException"},
        "rule_not_found",
        "rule 'billing-ingest' on bus 'default' does not exist",
        True,
        "rule_not_found",
    ),
    "schedule_only": RuleCase(
        {"ScheduleExpression": "rate(5 minutes)"},
        "rule_has_no_pattern",
        "the rule has no event pattern (rate(5 minutes))",
        True,
        "rule_has_no_pattern",
    ),
    "disabled": RuleCase(
        {"State": "DISABLED", "EventPattern": '{"source": ["com.example.shop"]}'},
        "rule_disabled",
        "the rule is disabled",
        True,
        "rule_disabled",
    ),
    "describe_denied": RuleCase(
        {"error": "AccessDeniedException"},
        "AccessDeniedException",
        "grant events:DescribeRule on arn:aws:events:us-east-1:123456789012:rule/billing-ingest",
        False,
        "rule_check_denied",
    ),
    "pattern_unreadable": RuleCase(
        {"EventPattern": '{"detail": {"orderId": [{"contains": "ORD"}]}}'},
        "rule_pattern_unreadable",
        "rule billing-ingest: detail.orderId: unknown operator 'contains'",
        False,
        "rule_pattern_unreadable",
    ),
}


def seed_for_rule(sqs: FakeSqs, events: FakeEvents, case: RuleCase) -> list[str]:
    events.rules[RULE] = case.answer
    return list(seed(sqs, 3))


@pytest.mark.parametrize("case", list(RULE_CASES.values()), ids=list(RULE_CASES))
def test_with_keep_each_rule_answer_keeps_the_message_with_its_reason(case: RuleCase) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    ids = seed_for_rule(sqs, events, case)

    result = run(sqs, events)

    assert (result["redriven"], result["kept"], events.accepted) == (0, 3, [])
    assert (result["unmatched_rule_put"], result["unchecked_rule_put"]) == (0, 0)
    assert result["rule_check_put_reasons"] == {}
    assert {item["code"] for item in result["kept_messages"]} == {case.code}
    for item in result["kept_messages"]:
        assert item["reason"].startswith(f"{case.code}: ") and case.reason in item["reason"]
        assert item["disposition"] == "held"
    assert sorted(sqs.visible()) == sorted(ids)
    assert events.calls["DescribeRule"] == 1  # a definite answer is asked once per run


@pytest.mark.parametrize("case", list(RULE_CASES.values()), ids=list(RULE_CASES))
def test_with_put_each_rule_answer_puts_and_says_why(case: RuleCase) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    seed_for_rule(sqs, events, case)

    result = run(sqs, events, when_rule_unmatched="put")

    assert (result["redriven"], result["kept"], len(events.accepted)) == (3, 0, 3)
    counts = (result["unmatched_rule_put"], result["unchecked_rule_put"])
    assert counts == ((3, 0) if case.known else (0, 3))
    assert result["rule_check_put_reasons"] == {case.put_reason: 3}
    assert sqs.messages == {}


@pytest.mark.parametrize("when_rule_unmatched", ["keep", "put"])
def test_a_message_without_rule_arn_goes_to_event_bus_counted_as_unchecked(
    when_rule_unmatched: str,
) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    events.rules[RULE] = {"EventPattern": UNMATCHED_PATTERN}  # must not be consulted
    for number in range(3):
        message = eventbridge_dlq_message(custom_event(number))
        del message["MessageAttributes"]["RULE_ARN"]
        sqs.add(message["MessageBody"], message["MessageAttributes"])

    result = run(
        sqs,
        events,
        when_rule_unmatched=when_rule_unmatched,
        entry_options=EntryOptions(event_bus="orders"),
    )

    assert (result["redriven"], result["unmatched_rule_put"], result["unchecked_rule_put"]) == (
        3,
        0,
        3,
    )
    assert result["rule_check_put_reasons"] == {"no_rule_arn": 3}
    assert {entry["EventBusName"] for entry in events.accepted} == {"orders"}
    assert events.calls["DescribeRule"] == 0


@pytest.mark.parametrize("when_rule_unmatched", ["keep", "put"])
def test_without_event_bus_a_message_without_rule_arn_is_kept_either_way(
    when_rule_unmatched: str,
) -> None:
    sqs, events = FakeSqs(), FakeEvents()
    message = eventbridge_dlq_message(custom_event(1))
    del message["MessageAttributes"]["RULE_ARN"]
    sqs.add(message["MessageBody"], message["MessageAttributes"])

    result = run(sqs, events, when_rule_unmatched=when_rule_unmatched)

    assert (result["redriven"], result["kept"], result["unchecked_rule_put"]) == (0, 1, 0)
    assert result["kept_messages"][0]["code"] == "unknown_bus"
    assert "RULE_ARN (missing) names no bus; set event_bus" in result["kept_messages"][0]["reason"]


@pytest.mark.parametrize("when_rule_unmatched", ["keep", "put"])
def test_a_failed_describe_rule_keeps_the_message_for_the_next_run_even_with_put(
    when_rule_unmatched: str,
) -> None:
    """Not knowing yet is not "unmatched": the next run asks again."""
    sqs, events = FakeSqs(), FakeEvents()
    events.rules[RULE] = {"error": "ThrottlingException"}
    seed(sqs, 3)

    result = run(sqs, events, when_rule_unmatched=when_rule_unmatched)

    assert (result["redriven"], result["kept"], events.accepted) == (0, 3, [])
    assert {item["code"] for item in result["kept_messages"]} == {"ThrottlingException"}
    assert {item["disposition"] for item in result["kept_messages"]} == {"transient"}
    assert events.calls["DescribeRule"] == 3  # not cached: each message asked again


@pytest.mark.parametrize(
    ("pattern", "redriven", "mismatch"),
    [
        ({"account": ["210987654321"], "region": ["eu-west-1"]}, 3, None),
        ({"region": ["us-east-1"]}, 0, "region: eu-west-1 not in [us-east-1]"),
        ({"account": ["123456789012"]}, 0, "account: 210987654321 not in [123456789012]"),
    ],
)
def test_the_event_is_checked_with_the_account_and_region_put_events_stamps(
    pattern: dict[str, Any], redriven: int, mismatch: Optional[str]
) -> None:
    """The DLQ holds an event from us-east-1 in 123456789012; put back on the rule's bus in
    eu-west-1 by its account 210987654321, it carries that account and region."""
    sqs, events = FakeSqs(), FakeEvents()
    events.rules["regional"] = {"EventPattern": json.dumps(pattern)}
    arn = "arn:aws:events:eu-west-1:210987654321:rule/regional"
    for number in range(3):
        message = eventbridge_dlq_message(custom_event(number), rule=arn)
        sqs.add(message["MessageBody"], message["MessageAttributes"])

    result = run(sqs, events)

    assert result["redriven"] == redriven
    if mismatch is not None:
        assert {item["code"] for item in result["kept_messages"]} == {"no_longer_matches_rule"}
        assert result["kept_messages"][0]["reason"].startswith(
            f"no_longer_matches_rule: {mismatch}"
        )
