# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide, per record, what a run does with it: deliver it somewhere, keep it, or leave it.

The real run, the check-mode preview, the lookup and the CLI peek all ask the same
Planner, so they can never disagree about a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from .batching import DEFAULT_MAX_REQUEST_BYTES
from .delivery import Delivery, Destination, Route, TargetType
from .entries import Entry, EntryOptions, build_entry, choose_bus
from .failures import Failure, Kind
from .filters import RecordFilter
from .lookups import BusCheck
from .records import DlqRecord


@dataclass(frozen=True)
class Filtered:
    """Not selected by the filters: left in the DLQ untouched."""

    reason: str


@dataclass(frozen=True)
class Keep:
    """Selected, but not deliverable; where it would have gone, when that is known."""

    failure: Failure
    destination: Optional[Destination] = None
    entry: Optional[Entry] = None


@dataclass(frozen=True)
class Deliver:
    delivery: Delivery
    note: Optional[str] = None


Plan = Union[Filtered, Keep, Deliver]


@dataclass(frozen=True)
class PlanSettings:
    entry_options: EntryOptions = field(default_factory=EntryOptions)
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES


def bus_destination(bus: str) -> Destination:
    return Destination(Route.BUS, TargetType.EVENT_BUS, bus)


def record_failure(record: DlqRecord) -> Failure:
    """The failure of a record the parser could not make an event of."""
    return Failure(Kind.BAD_RECORD, record.problem or "unknown")


class Planner:
    def __init__(self, settings: PlanSettings, bus_check: Optional[BusCheck] = None) -> None:
        self.settings = settings
        self._bus_check = bus_check

    @property
    def entry_options(self) -> EntryOptions:
        return self.settings.entry_options

    def decide(self, record: DlqRecord, now_ms: int) -> Plan:
        mismatch = self.settings.record_filter.mismatch(record, now_ms)
        if mismatch is not None:
            return Filtered(f"not selected by {mismatch}")
        if record.problem is not None:
            return Keep(record_failure(record))
        return self._to_bus(record)

    def _to_bus(self, record: DlqRecord) -> Plan:
        bus = choose_bus(record, self.entry_options)
        if bus is None:
            failure = Failure(
                Kind.UNKNOWN_BUS,
                "unknown_bus",
                f"RULE_ARN {record.rule_arn or '(missing)'} names no bus; set event_bus",
            )
            return Keep(failure)
        destination = bus_destination(bus)
        if self._bus_check is not None:
            problem = self._bus_check.problem(bus)
            if problem is not None:
                return Keep(problem, destination)
        entry = build_entry(record, self.entry_options, bus)
        if entry.size >= self.settings.max_request_bytes:
            failure = Failure(
                Kind.ENTRY_TOO_LARGE,
                "entry_too_large",
                f"{entry.size} bytes, limit {self.settings.max_request_bytes}",
            )
            return Keep(failure, destination, entry)
        payload = entry.fields["Detail"]
        return Deliver(Delivery(record, destination, payload, entry.size, entry))
