"""Dedupe keys are exact: an event id is one key only with itself, however it is stored."""

from __future__ import annotations

import random
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.dedupe import (
    AcceptedIds,
    Claim,
    DedupeRegistry,
    UuidSet,
    uuid_bytes,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import Failure, Kind

EVENT_ID = "7bf73129-1428-4cd3-a780-95db273d1602"


def random_ids(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _number in range(count)]


def test_ids_one_bit_apart_are_distinct_keys() -> None:
    accepted = AcceptedIds()
    accepted.add(EVENT_ID)
    base = uuid.UUID(EVENT_ID).int
    neighbours = [str(uuid.UUID(int=base ^ (1 << bit))) for bit in range(128)]

    assert EVENT_ID in accepted
    assert not [event_id for event_id in neighbours if event_id in accepted]
    for event_id in neighbours:
        accepted.add(event_id)
    assert len(accepted) == 129
    assert all(event_id in accepted for event_id in neighbours)


def test_many_ids_through_several_resizes_match_a_plain_set() -> None:
    table = UuidSet()
    first_capacity = table.capacity
    kept = random_ids(5000, seed=1)
    others = random_ids(5000, seed=2)
    for event_id in kept:
        table.add(uuid.UUID(event_id).bytes)
    table.add(uuid.UUID(kept[0]).bytes)  # twice: still one key

    assert len(table) == 5000
    # Each table doubled past three quarters full: between 3/8 and 3/4 of the slots used.
    assert first_capacity < 5000 and 0.375 < 5000 / table.capacity <= 0.75
    assert all(uuid.UUID(event_id).bytes in table for event_id in kept)
    assert not [event_id for event_id in others if uuid.UUID(event_id).bytes in table]


def test_keys_sharing_leading_bytes_are_distinct() -> None:
    """Time-ordered ids (UUIDv7) share their first bytes within a millisecond."""
    table = UuidSet()
    prefix = uuid.UUID(EVENT_ID).bytes[:12]
    keys = [prefix + number.to_bytes(4, "big") for number in range(1, 3001)]
    for key in keys[::2]:
        table.add(key)

    assert len(table) == 1500
    assert all(key in table for key in keys[::2])
    assert not [key for key in keys[1::2] if key in table]


@pytest.mark.parametrize("key", [bytes(16), b"short", bytes(17)])
def test_the_table_refuses_what_it_cannot_hold_exactly(key: bytes) -> None:
    table = UuidSet()
    with pytest.raises(ValueError):
        table.add(key)
    assert key not in table


@pytest.mark.parametrize(
    "event_id",
    [
        "order-1",
        "",
        "00000000-0000-0000-0000-000000000000",  # nil: the table's empty-slot mark
        EVENT_ID.upper(),
        EVENT_ID.replace("-", ""),
        "{" + EVENT_ID + "}",
        "urn:uuid:" + EVENT_ID,
        "7bf73129-1428-4cd3-a780-95db273d160g",
    ],
)
def test_other_event_ids_are_kept_as_text(event_id: str) -> None:
    accepted = AcceptedIds()
    assert uuid_bytes(event_id) is None
    accepted.add(event_id)
    assert event_id in accepted
    assert EVENT_ID not in accepted


def test_uppercase_and_canonical_text_of_one_uuid_are_two_keys() -> None:
    """EventBridge compares event ids as text: `ABC…` and `abc…` are two events."""
    registry: DedupeRegistry[str] = DedupeRegistry()
    for event_id in (EVENT_ID.upper(), EVENT_ID, "{" + EVENT_ID + "}"):
        assert registry.claim("bus", event_id, "first")[0] is Claim.OWNER
        registry.resolve("bus", event_id, None)

    assert registry.accepted_count() == 3
    for event_id in (EVENT_ID.upper(), EVENT_ID, "{" + EVENT_ID + "}"):
        assert registry.claim("bus", event_id, "copy")[0] is Claim.ACCEPTED
    assert registry.claim("other-bus", EVENT_ID, "copy")[0] is Claim.OWNER


def test_the_registry_remembers_outcomes_per_destination_and_id() -> None:
    registry: DedupeRegistry[str] = DedupeRegistry()
    refused = Failure(Kind.ENTRY_REJECTED, "ValidationException")
    throttled = Failure(Kind.RETRY_EXHAUSTED, "ThrottlingException")
    accepted_id, refused_id, throttled_id = random_ids(3, seed=3)
    for event_id in (accepted_id, refused_id, throttled_id):
        assert registry.claim("bus", event_id, "owner") == (Claim.OWNER, None)
        assert registry.claim("bus", event_id, "copy") == (Claim.WAITING, None)

    assert registry.resolve("bus", accepted_id, None) == ["copy"]
    assert registry.resolve("bus", refused_id, refused) == ["copy"]
    assert registry.resolve("bus", throttled_id, throttled) == ["copy"]

    assert registry.claim("bus", accepted_id, "late") == (Claim.ACCEPTED, None)
    assert registry.claim("bus", refused_id, "late") == (Claim.FAILED, refused)
    assert registry.claim("bus", throttled_id, "late") == (Claim.OWNER, None)  # may try again
    assert registry.accepted_count() == 1


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_workers_get_one_owner_per_event() -> None:
    registry: DedupeRegistry[int] = DedupeRegistry()
    event_ids = random_ids(2000, seed=4)
    owners: Counter[str] = Counter()
    counted = threading.Lock()
    start = threading.Barrier(4)

    def worker(number: int) -> None:
        start.wait()
        for event_id in event_ids:
            claim, _failure = registry.claim("bus", event_id, number)
            if claim is Claim.OWNER:
                registry.resolve("bus", event_id, None)
                with counted:
                    owners[event_id] += 1

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(owners.values()) == {1} and len(owners) == len(event_ids)
    assert registry.accepted_count() == len(event_ids)
