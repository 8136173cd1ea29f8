# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The messages a run holds hidden: received and not yet deleted.

Each is known by its newest receipt handle. Those still being worked on (put,
quarantined, deleted) are "working": their visibility is extended while the
work lasts. Kept and filtered-out messages are "parked": hidden only so this run
does not receive them again, and released when the run ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from .records import DlqRecord


class HeldMessages:
    def __init__(self) -> None:
        self._handles: dict[str, str] = {}
        self._working: set[str] = set()
        self._lock = threading.Lock()

    def take_new(self, records: Iterable[DlqRecord]) -> list[DlqRecord]:
        """Hold every record; return those not already held by this run.

        A message seen earlier in this run (its visibility ran out) only gets its
        newer receipt handle recorded: the old one no longer deletes or releases it.
        """
        fresh = []
        with self._lock:
            for record in records:
                if record.message_id not in self._handles:
                    fresh.append(record)
                    self._working.add(record.message_id)
                self._handles[record.message_id] = record.receipt_handle
        return fresh

    def use_newest_handles(self, records: Sequence[DlqRecord]) -> None:
        """SQS accepts an older handle of a message received again and deletes nothing,
        so the message would come back and be handled twice."""
        with self._lock:
            for record in records:
                record.receipt_handle = self._handles.get(record.message_id, record.receipt_handle)

    def park(self, records: Iterable[DlqRecord]) -> None:
        with self._lock:
            for record in records:
                self._working.discard(record.message_id)

    def drop(self, records: Iterable[DlqRecord]) -> None:
        with self._lock:
            for record in records:
                self._handles.pop(record.message_id, None)
                self._working.discard(record.message_id)

    def working(self) -> list[DlqRecord]:
        with self._lock:
            return [DlqRecord(mid, self._handles[mid], "") for mid in self._working]

    def take_all(self) -> list[DlqRecord]:
        with self._lock:
            records = [DlqRecord(mid, handle, "") for mid, handle in self._handles.items()]
            self._handles.clear()
            self._working.clear()
        return records
