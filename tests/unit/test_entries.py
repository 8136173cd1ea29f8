from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import (
    EntryOptions,
    OptionError,
    build_entry,
    bus_from_rule_arn,
    entry_size,
    event_time,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from tests.support.events import (
    custom_event,
    eventbridge_dlq_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.unit.test_records import received


def record_for(event: dict, rule: str | None = None):
    return parse_message(received(eventbridge_dlq_message(event, rule=rule)))


@pytest.mark.parametrize(
    ("arn", "bus"),
    [
        ("arn:aws:events:us-east-1:123456789012:rule/orders/to-billing", "orders"),
        ("arn:aws:events:us-east-1:123456789012:rule/to-billing", "default"),
        ("arn:aws:events:us-east-1:123456789012:rule/", None),
        # Partner bus names hold slashes: the bus is everything up to the last one.
        (
            "arn:aws:events:us-east-1:123456789012:rule/aws.partner/example.com/123/orders/my-rule",
            "aws.partner/example.com/123/orders",
        ),
        ("arn:aws:events:us-east-1:123456789012:rule//my-rule", None),
        ("arn:aws:events:us-east-1:123456789012:rule/orders/", None),
        ("rule/orders/my-rule", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", None),
        (None, None),
    ],
)
def test_bus_from_rule_arn(arn: str | None, bus: str | None) -> None:
    assert bus_from_rule_arn(arn) == bus


def test_bus_choice_order() -> None:
    record = record_for(custom_event(), rule=rule_arn("r", bus="orders"))
    assert build_entry(record, EntryOptions()).bus == "orders"
    assert build_entry(record, EntryOptions(event_bus="audit")).bus == "audit"
    plain = parse_message(received({"MessageBody": json.dumps(custom_event())}))
    assert build_entry(plain, EntryOptions()).bus == "default"


def test_source_policy() -> None:
    s3 = record_for(s3_cloudtrail_event())
    shop = record_for(custom_event())
    assert build_entry(s3, EntryOptions()).fields["Source"] == "redrive.aws.s3"
    assert build_entry(s3, EntryOptions()).source_rewritten
    assert (
        build_entry(s3, EntryOptions(aws_source_prefix="replay.")).fields["Source"]
        == "replay.aws.s3"
    )
    assert build_entry(shop, EntryOptions()).fields["Source"] == "com.example.shop"
    assert not build_entry(shop, EntryOptions()).source_rewritten
    fixed = EntryOptions(source_override="dlq.redrive")
    assert build_entry(shop, fixed).fields["Source"] == "dlq.redrive"
    assert build_entry(s3, fixed).fields["Source"] == "dlq.redrive"


@pytest.mark.parametrize(
    "options",
    [
        EntryOptions(source_override="aws.s3"),
        EntryOptions(source_override=""),
        EntryOptions(aws_source_prefix="aws.redrive."),
        EntryOptions(aws_source_prefix=""),
        EntryOptions(event_bus=""),
    ],
)
def test_invalid_options_are_refused(options: EntryOptions) -> None:
    with pytest.raises(OptionError):
        options.validate()


def test_entry_fields_and_size() -> None:
    event = custom_event()
    entry = build_entry(record_for(event), EntryOptions())
    assert entry.fields["DetailType"] == "注文確定"
    assert entry.fields["Time"] == datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.timezone.utc)
    assert entry.fields["Resources"] == event["resources"]
    assert json.loads(entry.fields["Detail"]) == event["detail"]
    assert "抹茶" in entry.fields["Detail"]
    expected = 14 + sum(
        len(text.encode())
        for text in ("com.example.shop", "注文確定", entry.fields["Detail"], *event["resources"])
    )
    assert entry.size == expected == entry_size(entry.fields)


def test_size_ignores_bus_and_trace_header() -> None:
    base = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    assert entry_size(base) == 4
    assert entry_size({**base, "EventBusName": "long-bus-name", "TraceHeader": "Root=1"}) == 4
    assert entry_size({**base, "Time": "2026-01-01T00:00:00Z"}) == 18


def test_no_time_and_no_resources_are_left_out() -> None:
    event = custom_event(resources=[])
    del event["time"]
    entry = build_entry(record_for(event), EntryOptions())
    assert "Time" not in entry.fields and "Resources" not in entry.fields


def test_marker_field_appends_ids_and_keeps_order() -> None:
    event = custom_event()
    record = record_for(event)
    entry = build_entry(record, EntryOptions(marker_field="_redrive"))
    detail = json.loads(entry.fields["Detail"])
    assert list(detail)[:-1] == list(event["detail"])
    assert detail["_redrive"] == {"event_id": event["id"], "message_id": record.message_id}


def test_marker_on_empty_detail_and_existing_key() -> None:
    empty = record_for(custom_event(detail={}))
    assert json.loads(build_entry(empty, EntryOptions(marker_field="m")).fields["Detail"])["m"]
    taken = record_for(custom_event(detail={"m": 1}))
    assert build_entry(taken, EntryOptions(marker_field="m")).fields["Detail"] == '{"m":1}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21T12:00:00Z", datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.timezone.utc)),
        (
            "2026-11-21T12:00:00+09:00",
            datetime.datetime(2026, 11, 21, 3, tzinfo=datetime.timezone.utc),
        ),
        ("2026-11-21T12:00:00", datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.timezone.utc)),
        ("yesterday", "yesterday"),
    ],
)
def test_event_time(text: str, expected: object) -> None:
    assert event_time(text) == expected
