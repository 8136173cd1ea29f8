# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put each event once per run, even when the DLQ holds several copies.

The DLQ gets one copy of an event per failed target, plus extra copies from
at-least-once delivery. Re-putting the event once already reaches every rule and
target on the bus, so the other copies are deleted, but only after the first
copy's entry was accepted: if it fails, the copies stay with it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")

OWNER = "owner"
ACCEPTED = "accepted"
FAILED = "failed"
WAITING = "waiting"


def _key(event_id: str, bus: str) -> int:
    # 8-byte digests keep memory flat on DLQs of hundreds of thousands of events.
    digest = hashlib.blake2b(f"{bus}\0{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class _InFlight(Generic[Item]):
    waiters: list[Item] = field(default_factory=list)


class DedupeRegistry(Generic[Item]):
    """Event id + bus → state; thread-safe across workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted: set[int] = set()
        self._failed: dict[int, str] = {}
        self._in_flight: dict[int, _InFlight[Item]] = {}

    def claim(self, event_id: str, bus: str, item: Item) -> tuple[str, str]:
        """OWNER: put it. ACCEPTED: delete it. FAILED: keep it (with the reason).
        WAITING: the owner decides for it when its put is resolved."""
        key = _key(event_id, bus)
        with self._lock:
            if key in self._accepted:
                return ACCEPTED, ""
            if key in self._failed:
                return FAILED, self._failed[key]
            if key in self._in_flight:
                self._in_flight[key].waiters.append(item)
                return WAITING, ""
            self._in_flight[key] = _InFlight()
            return OWNER, ""

    def resolve(self, event_id: str, bus: str, accepted: bool, reason: str = "") -> list[Item]:
        """Record the owner's outcome; return the copies that waited for it."""
        key = _key(event_id, bus)
        with self._lock:
            in_flight = self._in_flight.pop(key, None)
            if accepted:
                self._accepted.add(key)
            else:
                self._failed[key] = reason
            return in_flight.waiters if in_flight else []
