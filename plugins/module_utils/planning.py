# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide, per record, what a run does with it: put, keep, or leave alone.

The real run, the check-mode preview, the lookup and the CLI peek all ask the
same Planner, so they can never disagree about a message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional

from .batching import DEFAULT_MAX_REQUEST_BYTES
from .entries import Entry, EntryOptions, build_entry, choose_bus
from .filters import RecordFilter
from .records import DlqRecord

PUT = "put"
KEEP = "keep"
FILTER = "filter"

# bus name -> None when usable, else the reason it is not
BusCheck = Callable[[str], Optional[str]]


@dataclass
class Decision:
    action: str
    reason: Optional[str] = None
    entry: Optional[Entry] = None


class BusCache:
    """Ask once per bus whether it exists; shared by all workers."""

    def __init__(self, check: BusCheck) -> None:
        self._check = check
        self._known: dict[str, Optional[str]] = {}
        self._lock = threading.Lock()

    def problem(self, bus: str) -> Optional[str]:
        # Held while asking, so concurrent workers ask once per bus, not once each.
        with self._lock:
            if bus not in self._known:
                self._known[bus] = self._check(bus)
            return self._known[bus]


class Planner:
    def __init__(
        self,
        entry_options: EntryOptions,
        record_filter: RecordFilter,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        bus_check: Optional[BusCheck] = None,
    ) -> None:
        self.entry_options = entry_options
        self.record_filter = record_filter
        self.max_request_bytes = max_request_bytes
        self._buses = BusCache(bus_check) if bus_check else None

    def decide(self, record: DlqRecord, now_ms: int) -> Decision:
        mismatch = self.record_filter.mismatch(record, now_ms)
        if mismatch is not None:
            return Decision(FILTER, f"not selected by {mismatch}")
        if record.problem is not None:
            return Decision(KEEP, record.problem)
        if self._buses is not None:
            bus_problem = self._buses.problem(choose_bus(record, self.entry_options))
            if bus_problem is not None:
                return Decision(KEEP, bus_problem)
        entry = build_entry(record, self.entry_options)
        if entry.size >= self.max_request_bytes:
            return Decision(
                KEEP,
                f"entry_too_large: {entry.size} bytes, limit {self.max_request_bytes}",
                entry,
            )
        return Decision(PUT, None, entry)
