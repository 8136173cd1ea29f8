# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One lifecycle per message a run holds: received → … → done, parked or released.

    received ─┬─ delivering ─┬─ accepted ──── deleting ─┬─ done
              │              └─ parked                  └─ accepted (delete failed: retried)
              ├─ waiting (on the first copy of its event) ─ accepted | parked
              ├─ accepted (a copy of an event already delivered)
              ├─ parked (filtered out, kept)
              └─ quarantining ─┬─ quarantined ─ deleting ─ done
                               └─ parked (the copy could not be sent)

Three rules hold, whatever the workers do:
- a delete starts only from `accepted` or `quarantined` (`start_delete`);
- every message not `done` when the run ends is made visible again (`unfinished`);
- every held message, working or parked, has its visibility extended while the run lasts
  (`due`, `extended`), so it is neither handled twice nor taken for a new message.

Each message is known by its newest receipt handle: SQS accepts an older handle of a
message received again and deletes nothing.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from .records import DlqRecord


class State(enum.Enum):
    RECEIVED = "received"
    DELIVERING = "delivering"
    WAITING = "waiting"
    ACCEPTED = "accepted"
    QUARANTINING = "quarantining"
    QUARANTINED = "quarantined"
    DELETING = "deleting"
    PARKED = "parked"


_ALLOWED: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset(
        (State.DELIVERING, State.WAITING, State.ACCEPTED, State.PARKED, State.QUARANTINING)
    ),
    State.DELIVERING: frozenset((State.ACCEPTED, State.PARKED, State.QUARANTINING)),
    State.WAITING: frozenset((State.ACCEPTED, State.PARKED, State.QUARANTINING)),
    State.QUARANTINING: frozenset((State.QUARANTINED, State.PARKED)),
    State.ACCEPTED: frozenset((State.DELETING,)),
    State.QUARANTINED: frozenset((State.DELETING,)),
    State.DELETING: frozenset((State.ACCEPTED, State.QUARANTINED)),
    State.PARKED: frozenset(),
}


class LedgerError(RuntimeError):
    """A transition the lifecycle forbids: a bug, never a property of the input."""


@dataclass
class _Entry:
    handle: str
    state: State
    # When the message becomes visible again unless its visibility is extended.
    hidden_until: float = float("inf")
    # Where a failed delete goes back to, so a retry keeps the reason it may delete.
    deletable_as: State = State.ACCEPTED


@dataclass(frozen=True)
class Handle:
    """A message id and its newest receipt handle: all a queue call needs."""

    message_id: str
    receipt_handle: str


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def take_new(
        self, records: Iterable[DlqRecord], hidden_until: float = float("inf")
    ) -> list[DlqRecord]:
        """Hold every record; return those this run did not hold yet.

        A message held already (its visibility lapsed, or a copy of the receive) only gets
        its newer receipt handle recorded.
        """
        fresh = []
        with self._lock:
            for record in records:
                entry = self._entries.get(record.message_id)
                if entry is None:
                    self._entries[record.message_id] = _Entry(
                        record.receipt_handle, State.RECEIVED, hidden_until
                    )
                    fresh.append(record)
                else:
                    entry.handle = record.receipt_handle
                    entry.hidden_until = hidden_until
        return fresh

    def move(self, records: Iterable[DlqRecord], state: State) -> None:
        with self._lock:
            for record in records:
                self._move(record.message_id, state)

    def _move(self, message_id: str, state: State) -> None:
        entry = self._entries.get(message_id)
        if entry is None:
            raise LedgerError(f"message {message_id} is not held")
        if state not in _ALLOWED[entry.state]:
            raise LedgerError(f"message {message_id}: {entry.state.value} → {state.value}")
        if state is State.DELETING:
            entry.deletable_as = entry.state
        entry.state = state

    def start_delete(self, message_ids: Iterable[str]) -> list[Handle]:
        """Move accepted or quarantined messages to `deleting`; their newest handles."""
        with self._lock:
            handles = []
            for message_id in message_ids:
                self._move(message_id, State.DELETING)
                handles.append(Handle(message_id, self._entries[message_id].handle))
            return handles

    def deleted(self, message_ids: Iterable[str]) -> None:
        with self._lock:
            for message_id in message_ids:
                entry = self._entries.get(message_id)
                if entry is None or entry.state is not State.DELETING:
                    raise LedgerError(f"message {message_id} was not being deleted")
                del self._entries[message_id]

    def delete_failed(self, message_ids: Iterable[str]) -> None:
        """Back to where the delete started, to be retried."""
        with self._lock:
            for message_id in message_ids:
                entry = self._entries[message_id]
                self._move(message_id, entry.deletable_as)

    def ids_in(self, *states: State) -> list[str]:
        with self._lock:
            return [mid for mid, entry in self._entries.items() if entry.state in states]

    def held(self) -> list[Handle]:
        """Every message the run holds, working or parked."""
        with self._lock:
            return [Handle(mid, entry.handle) for mid, entry in self._entries.items()]

    def due(self, before: float) -> list[Handle]:
        """Held messages that become visible before `before`: the heartbeat's list."""
        with self._lock:
            return [
                Handle(mid, entry.handle)
                for mid, entry in self._entries.items()
                if entry.hidden_until <= before
            ]

    def extended(self, handles: Iterable[Handle], hidden_until: float) -> None:
        with self._lock:
            for handle in handles:
                entry = self._entries.get(handle.message_id)
                # A newer receive has its own timeout; a deleted message has none.
                if entry is not None and entry.handle == handle.receipt_handle:
                    entry.hidden_until = hidden_until

    def state(self, message_id: str) -> Optional[State]:
        with self._lock:
            entry = self._entries.get(message_id)
            return entry.state if entry is not None else None

    def release_all(self) -> list[Handle]:
        """Forget every message still held and return them, to be made visible again."""
        with self._lock:
            handles = [Handle(mid, entry.handle) for mid, entry in self._entries.items()]
            self._entries.clear()
            return handles

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
