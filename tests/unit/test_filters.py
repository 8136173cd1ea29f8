from __future__ import annotations

from ansible_collections.redrive.eventbridge.plugins.module_utils.filters import RecordFilter
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from tests.support.events import (
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.unit.test_records import received

SENT_MS = 1763640000000


def record(**kwargs: object):
    message = received(eventbridge_dlq_message(custom_event(), **kwargs))
    message["Attributes"]["SentTimestamp"] = str(SENT_MS)
    return parse_message(message)


def test_empty_filter_selects_everything() -> None:
    assert RecordFilter.build().is_empty
    assert RecordFilter.build(rule_arns=[], error_codes=None).matches(record(), SENT_MS)


def test_each_criterion() -> None:
    item = record(rule=rule_arn("a"), error_code="THROTTLING", condition="MaximumEventAgeInSeconds")
    now = SENT_MS + 3_600_000
    assert RecordFilter.build(rule_arns=[rule_arn("a")]).matches(item, now)
    assert RecordFilter.build(rule_arns=[rule_arn("b")]).mismatch(item, now) == "rule_arns"
    assert RecordFilter.build(error_codes=["TIMEOUT"]).mismatch(item, now) == "error_codes"
    assert RecordFilter.build(error_codes=["THROTTLING", "TIMEOUT"]).matches(item, now)
    target = item.target_arn
    assert RecordFilter.build(target_arns=[target]).matches(item, now)
    assert RecordFilter.build(target_arns=["x"]).mismatch(item, now) == "target_arns"
    assert (
        RecordFilter.build(exhausted_retry_conditions=["MaximumRetryAttempts"]).mismatch(item, now)
        == "exhausted_retry_conditions"
    )
    assert RecordFilter.build(message_ids=[item.message_id]).matches(item, now)
    assert RecordFilter.build(message_ids=["other"]).mismatch(item, now) == "message_ids"
    assert RecordFilter.build(min_age_seconds=3000).matches(item, now)
    assert RecordFilter.build(min_age_seconds=4000).mismatch(item, now) == "min_age_seconds"
    assert RecordFilter.build(max_age_seconds=3000).mismatch(item, now) == "max_age_seconds"
    assert RecordFilter.build(max_age_seconds=4000).matches(item, now)


def test_all_criteria_must_match() -> None:
    item = record(rule=rule_arn("a"), error_code="THROTTLING")
    both = RecordFilter.build(rule_arns=[rule_arn("a")], error_codes=["TIMEOUT"])
    assert not both.matches(item, SENT_MS)


def test_age_filter_without_timestamp_does_not_select() -> None:
    item = record()
    item.sent_timestamp_ms = None
    assert RecordFilter.build(min_age_seconds=1).mismatch(item, SENT_MS) == "age_unknown"


def test_empty_message_id_selection_selects_nothing() -> None:
    item = record()
    assert RecordFilter.build(message_ids=[]).mismatch(item, SENT_MS) == "message_ids"
    assert RecordFilter.build(message_ids=None).matches(item, SENT_MS)


SHOP = {"source": ["com.example.shop"], "detail": {"customer": {"tier": ["gold"]}}}


def test_event_pattern_composes_with_the_other_filters() -> None:
    item = record(rule=rule_arn("a"), error_code="THROTTLING")
    now = SENT_MS + 3_600_000
    assert RecordFilter.build(event_pattern=SHOP, rule_arns=[rule_arn("a")]).matches(item, now)
    # Each side alone can reject the message; the first failing criterion is named.
    other_rule = RecordFilter.build(event_pattern=SHOP, rule_arns=[rule_arn("b")])
    assert other_rule.mismatch(item, now) == "rule_arns"
    other_tier = {"detail": {"customer": {"tier": ["silver"]}}}
    wrong_tier = RecordFilter.build(event_pattern=other_tier, error_codes=["THROTTLING"])
    assert wrong_tier.mismatch(item, now) == "event_pattern"
    too_young = RecordFilter.build(event_pattern=SHOP, min_age_seconds=7200)
    assert too_young.mismatch(item, now) == "min_age_seconds"
    assert RecordFilter.build(event_pattern=SHOP, max_age_seconds=7200).matches(item, now)


def test_event_pattern_as_json_text_and_on_the_original_event() -> None:
    s3 = parse_message(received(eventbridge_dlq_message(s3_cloudtrail_event())))
    # The pattern sees the event as it is in the DLQ: aws.s3, not the redrive.aws.s3 of a put.
    text = '{"source": ["aws.s3"], "detail": {"eventName": [{"prefix": "Put"}]}}'
    assert RecordFilter.build(event_pattern=text).matches(s3, SENT_MS)
    renamed = RecordFilter.build(event_pattern='{"source": ["redrive.aws.s3"]}')
    assert renamed.mismatch(s3, SENT_MS) == "event_pattern"


def test_event_pattern_never_selects_a_message_without_an_event() -> None:
    broken = parse_message(received(malformed_message()))
    assert broken.event is None
    anything = RecordFilter.build(event_pattern={"source": [{"exists": False}]})
    assert anything.mismatch(broken, SENT_MS) == "event_pattern"
