# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver each event once per destination in a run, even when the DLQ holds copies.

The DLQ gets one copy of an event per failed target, plus extra copies from
at-least-once delivery. A copy is deleted only after the first copy for the same
destination was accepted; if that one fails, its copies share its fate.

Keys are exact (destination and event id), never hashes: a collision would delete a copy
whose event was never delivered. What grows with the queue is one entry per distinct
event delivered: a canonical UUID event id is kept as its 128-bit integer (about 90 bytes
in the set), any other id as its text.
"""

from __future__ import annotations

import enum
import threading
import uuid
from dataclasses import dataclass, field
from typing import Generic, Optional, TypeVar, Union

from .failures import Failure

Item = TypeVar("Item")
EventKey = Union[int, str]


class Claim(enum.Enum):
    OWNER = "owner"  # deliver it
    ACCEPTED = "accepted"  # an earlier copy was accepted: delete this one
    FAILED = "failed"  # an earlier copy failed: keep this one with that failure
    WAITING = "waiting"  # an earlier copy is being delivered: its owner settles this one


def event_key(event_id: str) -> EventKey:
    """The id itself, stored compactly when it is a canonical UUID (the usual case)."""
    if len(event_id) == 36:
        try:
            parsed = uuid.UUID(event_id)
        except ValueError:
            return event_id
        if str(parsed) == event_id:
            return parsed.int
    return event_id


@dataclass
class _Destination(Generic[Item]):
    accepted: set[EventKey] = field(default_factory=set)
    failed: dict[EventKey, Failure] = field(default_factory=dict)
    in_flight: dict[EventKey, list[Item]] = field(default_factory=dict)


class DedupeRegistry(Generic[Item]):
    """(destination, event id) → state; thread-safe across workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._destinations: dict[str, _Destination[Item]] = {}

    def claim(self, destination: str, event_id: str, item: Item) -> tuple[Claim, Optional[Failure]]:
        key = event_key(event_id)
        with self._lock:
            known = self._destinations.setdefault(destination, _Destination())
            if key in known.accepted:
                return Claim.ACCEPTED, None
            if key in known.failed:
                return Claim.FAILED, known.failed[key]
            if key in known.in_flight:
                known.in_flight[key].append(item)
                return Claim.WAITING, None
            known.in_flight[key] = []
            return Claim.OWNER, None

    def resolve(self, destination: str, event_id: str, failure: Optional[Failure]) -> list[Item]:
        """Record the owner's outcome (None: accepted); return the copies that waited.

        A transient failure is not remembered: a later copy in the same run may try again.
        """
        key = event_key(event_id)
        with self._lock:
            known = self._destinations.setdefault(destination, _Destination())
            waiters = known.in_flight.pop(key, [])
            if failure is None:
                known.accepted.add(key)
            elif not failure.transient:
                known.failed[key] = failure
            return waiters

    def accepted_count(self) -> int:
        with self._lock:
            return sum(len(known.accepted) for known in self._destinations.values())
