# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver each event once per destination in a run, even when the DLQ holds copies.

The DLQ gets one copy of an event per failed target, plus extra copies from
at-least-once delivery. A copy is deleted only after the first copy for the same
destination was accepted; if that one fails, its copies share its fate.

Keys are exact (destination and event id), never hashes: a collision would delete a copy
whose event was never delivered. What grows with the queue is one accepted id per distinct
event and destination. EventBridge event ids are canonical UUIDs, kept as their 16 bytes in
open-addressing tables (`UuidSet`: 21 to 43 bytes per id, by how full the tables are, 31 on
average as measured with tracemalloc from 10,000 to 1,000,000 ids); any other id is kept as
its text.
"""

from __future__ import annotations

import enum
import threading
import uuid
from dataclasses import dataclass, field
from typing import Generic, Optional, TypeVar

from .failures import Failure

Item = TypeVar("Item")

_UUID_SIZE = 16
# An all-zero slot is empty; the nil UUID, the one id it would hide, is kept as text.
_EMPTY = bytes(_UUID_SIZE)
_SHARD_BITS = 4  # sixteen tables per destination
_FIRST_CAPACITY = 8  # slots per table, a power of two: 2 KiB per destination to start with
# Grown (doubled) past three quarters full: linear probing stays short, and the table
# holds 16 / 0.75 to 16 / 0.375 bytes per id.
_MAX_LOAD_NUMERATOR, _MAX_LOAD_DENOMINATOR = 3, 4


class Claim(enum.Enum):
    OWNER = "owner"  # deliver it
    ACCEPTED = "accepted"  # an earlier copy was accepted: delete this one
    FAILED = "failed"  # an earlier copy failed: keep this one with that failure
    WAITING = "waiting"  # an earlier copy is being delivered: its owner settles this one


def uuid_bytes(event_id: str) -> Optional[bytes]:
    """The 16 bytes of a canonical UUID (lowercase, hyphenated), None for any other id.

    Only the canonical text maps to bytes, and the text can be rebuilt from them, so two ids
    share a key exactly when their texts are equal: an uppercase id is another event id to
    EventBridge, and stays another key here.
    """
    if len(event_id) != 36:
        return None
    try:
        parsed = uuid.UUID(event_id)
    except ValueError:
        return None
    if str(parsed) != event_id or parsed.int == 0:
        return None
    return parsed.bytes


class _Table:
    """16-byte keys in one bytearray: open addressing with linear probing.

    Keys are only added, never removed, so no slot is ever a tombstone. The caller hashes
    the key (`spread`) and refuses the all-zero key, the mark of an empty slot.
    """

    def __init__(self, capacity: int) -> None:
        self._slots = bytearray(capacity * _UUID_SIZE)
        self.capacity = capacity
        self.count = 0

    def holds(self, key: bytes, spread: int) -> bool:
        offset = self._find(key, spread)
        return self._slots[offset : offset + _UUID_SIZE] == key

    def add(self, key: bytes, spread: int) -> None:
        offset = self._find(key, spread)
        if self._slots[offset : offset + _UUID_SIZE] == key:
            return
        if (self.count + 1) * _MAX_LOAD_DENOMINATOR > self.capacity * _MAX_LOAD_NUMERATOR:
            self._grow()
            offset = self._find(key, spread)
        self._slots[offset : offset + _UUID_SIZE] = key
        self.count += 1

    def _find(self, key: bytes, spread: int) -> int:
        """The offset of the key's slot, or of the empty slot where it would go."""
        mask = self.capacity - 1
        index = spread & mask
        while True:
            offset = index * _UUID_SIZE
            held = self._slots[offset : offset + _UUID_SIZE]
            if held in (key, _EMPTY):
                return offset
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self.capacity *= 2
        self._slots = bytearray(self.capacity * _UUID_SIZE)
        for offset in range(0, len(old), _UUID_SIZE):
            key = bytes(old[offset : offset + _UUID_SIZE])
            if key != _EMPTY:
                new_offset = self._find(key, _spread(key))
                self._slots[new_offset : new_offset + _UUID_SIZE] = key


def _spread(key: bytes) -> int:
    # Python's hash of bytes (SipHash, seeded per process) spreads ids that share leading
    # bytes, such as time-ordered UUIDs; equality, not the hash, decides membership.
    return hash(key) >> _SHARD_BITS


class UuidSet:
    """A set of 16-byte keys (not the all-zero key) in sixteen tables, by the key's hash.

    Each table grows on its own: while one grows, its old and new bytearrays are both
    held, and that is a sixteenth of the keys, not all of them, so the peak stays close to
    what the keys take. Not thread-safe: the registry's lock guards it.
    """

    def __init__(self) -> None:
        self._tables = [_Table(_FIRST_CAPACITY) for _shard in range(1 << _SHARD_BITS)]

    @property
    def capacity(self) -> int:
        return sum(table.capacity for table in self._tables)

    def __len__(self) -> int:
        return sum(table.count for table in self._tables)

    def __contains__(self, key: bytes) -> bool:
        if key == _EMPTY:
            return False
        return self._table(key).holds(key, _spread(key))

    def add(self, key: bytes) -> None:
        if len(key) != _UUID_SIZE or key == _EMPTY:
            raise ValueError("a key is 16 bytes, not all zero")
        self._table(key).add(key, _spread(key))

    def _table(self, key: bytes) -> _Table:
        return self._tables[hash(key) & ((1 << _SHARD_BITS) - 1)]


class AcceptedIds:
    """The event ids accepted at one destination: UUIDs as bytes, any other id as text."""

    def __init__(self) -> None:
        self._uuids = UuidSet()
        self._others: set[str] = set()

    def __contains__(self, event_id: str) -> bool:
        key = uuid_bytes(event_id)
        return event_id in self._others if key is None else key in self._uuids

    def add(self, event_id: str) -> None:
        key = uuid_bytes(event_id)
        if key is None:
            self._others.add(event_id)
        else:
            self._uuids.add(key)

    def __len__(self) -> int:
        return len(self._uuids) + len(self._others)


@dataclass
class _Destination(Generic[Item]):
    accepted: AcceptedIds = field(default_factory=AcceptedIds)
    # Both keyed by the id's text: `failed` holds only events that failed for good (their
    # messages stay held anyway), `in_flight` only the deliveries under way.
    failed: dict[str, Failure] = field(default_factory=dict)
    in_flight: dict[str, list[Item]] = field(default_factory=dict)


class DedupeRegistry(Generic[Item]):
    """(destination, event id) → state; thread-safe across workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._destinations: dict[str, _Destination[Item]] = {}

    def claim(self, destination: str, event_id: str, item: Item) -> tuple[Claim, Optional[Failure]]:
        with self._lock:
            known = self._destination(destination)
            if event_id in known.accepted:
                return Claim.ACCEPTED, None
            if event_id in known.failed:
                return Claim.FAILED, known.failed[event_id]
            if event_id in known.in_flight:
                known.in_flight[event_id].append(item)
                return Claim.WAITING, None
            known.in_flight[event_id] = []
            return Claim.OWNER, None

    def resolve(self, destination: str, event_id: str, failure: Optional[Failure]) -> list[Item]:
        """Record the owner's outcome (None: accepted); return the copies that waited.

        A transient failure is not remembered: a later copy in the same run may try again.
        """
        with self._lock:
            known = self._destination(destination)
            waiters = known.in_flight.pop(event_id, [])
            if failure is None:
                known.accepted.add(event_id)
            elif not failure.transient:
                known.failed[event_id] = failure
            return waiters

    def accepted_count(self) -> int:
        with self._lock:
            return sum(len(known.accepted) for known in self._destinations.values())

    def _destination(self, destination: str) -> _Destination[Item]:
        # Not setdefault: that would build (and drop) a table on every call.
        known = self._destinations.get(destination)
        if known is None:
            known = self._destinations[destination] = _Destination()
        return known
