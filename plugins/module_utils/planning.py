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
from .lookups import BusCheck, RuleBook
from .records import DlqRecord
from .rule_check import NOT_CHECKED, RuleChecker, RuleMatch


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
    rule_match: RuleMatch = NOT_CHECKED


@dataclass(frozen=True)
class Deliver:
    delivery: Delivery
    # Put although the rule whose target failed will not match it (when_rule_unmatched: put).
    unmatched_put: bool = False
    rule_match: RuleMatch = NOT_CHECKED


Plan = Union[Filtered, Keep, Deliver]


KEEP_UNMATCHED = "keep"
PUT_UNMATCHED = "put"


@dataclass(frozen=True)
class PlanSettings:
    entry_options: EntryOptions = field(default_factory=EntryOptions)
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    when_rule_unmatched: str = KEEP_UNMATCHED


def bus_destination(bus: str) -> Destination:
    return Destination(Route.BUS, TargetType.EVENT_BUS, bus)


def record_failure(record: DlqRecord) -> Failure:
    """The failure of a record the parser could not make an event of."""
    return Failure(Kind.BAD_RECORD, record.problem or "unknown")


class Planner:
    def __init__(
        self,
        settings: PlanSettings,
        bus_check: Optional[BusCheck] = None,
        rules: Optional[RuleBook] = None,
    ) -> None:
        self.settings = settings
        self._bus_check = bus_check
        self._rule_checker = RuleChecker(rules) if rules is not None else None

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
        rule_match = NOT_CHECKED
        if self._rule_checker is not None:
            rule_match = self._rule_checker.check(record, entry)
        put_anyway = self.settings.when_rule_unmatched == PUT_UNMATCHED
        if rule_match.failure is not None and not put_anyway:
            return Keep(rule_match.failure, destination, entry, rule_match)
        delivery = Delivery(record, destination, entry.fields["Detail"], entry.size, entry)
        return Deliver(delivery, rule_match.failure is not None, rule_match)
