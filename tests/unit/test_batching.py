from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.redrive.eventbridge.plugins.module_utils.batching import (
    MAX_ENTRIES_PER_REQUEST,
    plan_batches,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import (
    EntryOptions,
    build_entry,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message

sizes = st.lists(st.integers(min_value=0, max_value=300_000), max_size=60)
limits = st.sampled_from([1024, 262_144, 1_048_576]) | st.integers(min_value=1, max_value=400_000)


@settings(max_examples=500)
@given(sizes, limits)
def test_batches_respect_count_and_byte_limits(item_sizes: list[int], limit: int) -> None:
    items = list(enumerate(item_sizes))
    plan = plan_batches(items, lambda item: item[1], max_bytes=limit)
    for batch in plan.batches:
        assert 1 <= len(batch) <= MAX_ENTRIES_PER_REQUEST
        assert sum(size for _index, size in batch) < limit
    for _index, size in plan.too_large:
        assert size >= limit


@settings(max_examples=500)
@given(sizes, limits)
def test_every_item_in_exactly_one_place_in_order(item_sizes: list[int], limit: int) -> None:
    items = list(enumerate(item_sizes))
    plan = plan_batches(items, lambda item: item[1], max_bytes=limit)
    placed = [item for batch in plan.batches for item in batch]
    assert sorted(placed + plan.too_large) == items
    assert placed == sorted(placed)  # input order kept across and within batches


def test_one_mib_is_one_option() -> None:
    items = [300_000] * 3
    assert len(plan_batches(items, int).too_large) == 3
    plan = plan_batches(items, int, max_bytes=1_048_576)
    assert plan.too_large == [] and len(plan.batches) == 1


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
details = st.dictionaries(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10),
    json_values,
    max_size=8,
)


@settings(max_examples=500)
@given(details, st.booleans(), st.sampled_from([None, (",", ":")]))
def test_detail_round_trips_with_key_order(
    detail: dict[str, Any], ascii_only: bool, separators: Any
) -> None:
    event = {"id": "e", "source": "com.example", "detail-type": "t", "detail": detail}
    body = json.dumps(event, ensure_ascii=ascii_only, separators=separators)
    record = parse_message({"MessageId": "m", "ReceiptHandle": "h", "Body": body})
    assert record.redrivable
    entry = build_entry(record, EntryOptions())
    decoded = json.loads(entry.fields["Detail"])
    assert decoded == detail
    assert list(decoded) == list(detail)
    if not ascii_only:
        assert entry.fields["Detail"] == json.dumps(
            detail, ensure_ascii=False, separators=separators
        )
