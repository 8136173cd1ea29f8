# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What happened to each message, tallied into the result every shell returns.

Outcomes arrive as typed values (a destination, a Failure); text is made here, where
results are shown, and nowhere earlier.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Callable, Optional

from .delivery import Destination, Route
from .failures import Failure
from .records import ORIGIN_SCHEDULER, DlqRecord

REDRIVEN = "redriven"
KEPT = "kept"
QUARANTINED = "quarantined"
FILTERED_OUT = "filtered_out"
DUPLICATE = "duplicates_skipped"
OUTCOMES = (REDRIVEN, KEPT, QUARANTINED, FILTERED_OUT, DUPLICATE)
COUNTS = (
    "received",
    *OUTCOMES,
    "already_delivered",
    "delete_failures",
    "release_failures",
    "sources_rewritten",
    "unmatched_rule_put",
    "unchecked_rule_put",
)

# A kept Scheduler dead-letter event names its schedule, target and failure (no body).
SCHEDULER_FIELDS = ("schedule_arn", "target_arn", "error_code", "error_message", "retry_attempts")

# Breakdowns are keyed by rule, bus, target and error code; a DLQ can name thousands of
# them, so past this many keys the rest are counted under one.
BREAKDOWN_KEYS = 50
OTHER_KEY = "(other)"
NONE_KEY = "(none)"


def destination_fields(destination: Optional[Destination]) -> dict[str, Any]:
    """How results name where a message goes."""
    if destination is None:
        return {}
    fields: dict[str, Any] = {"route": destination.route.value}
    if destination.route is Route.BUS:
        fields["event_bus"] = destination.name
    else:
        fields["target"] = {"arn": destination.arn, "type": destination.type_name}
    return fields


class Tally:
    """Thread-safe counters, bounded breakdowns and capped lists of messages."""

    def __init__(
        self,
        kept_limit: int = 100,
        include_bodies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        list_every_message: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.kept_limit = kept_limit
        self.include_bodies = include_bodies
        self.list_every_message = list_every_message
        self.counts: Counter[str] = Counter()
        self.breakdowns: dict[str, dict[str, Counter[str]]] = {
            "by_rule": {},
            "by_bus": {},
            "by_target": {},
            "by_error_code": {},
        }
        self.kept_messages: list[dict[str, Any]] = []
        self.kept_messages_truncated = 0
        self.messages: list[dict[str, Any]] = []
        self.messages_truncated = 0
        self.delete_failed_messages: list[dict[str, Any]] = []
        self.api_calls: Counter[str] = Counter()
        # Why `auto` put messages on their bus instead of sending them to the target.
        self.bus_route_reasons: Counter[str] = Counter()
        # The same per message, until check mode lists it (message id -> reason).
        self._route_reasons: dict[str, str] = {}
        # Why `when_rule_unmatched: put` put messages whose rule check did not say "matches".
        self.rule_put_reasons: Counter[str] = Counter()
        self.started = clock()

    def call(self, action: str) -> None:
        with self._lock:
            self.api_calls[action] += 1

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def delivered(
        self,
        record: DlqRecord,
        destination: Destination,
        size: int,
        outcome: str = REDRIVEN,
        note: Optional[str] = None,
    ) -> None:
        """Delivered (or, for copies, covered by an earlier delivery)."""
        with self._lock:
            self._count(record, outcome, destination)
            self._list(record, outcome, destination, size=size, note=note)

    def kept(
        self,
        record: DlqRecord,
        failure: Failure,
        quarantined: bool = False,
        destination: Optional[Destination] = None,
    ) -> None:
        outcome = QUARANTINED if quarantined else KEPT
        with self._lock:
            self._count(record, outcome, destination)
            self._note_kept(record, outcome, failure, destination)
            self._list(record, outcome, destination, failure=failure)

    def filtered(self, record: DlqRecord, reason: str) -> None:
        with self._lock:
            self._count(record, FILTERED_OUT, None)
            self._list(record, FILTERED_OUT, None, note=reason)

    def routed_to_bus(self, reason: str, message_id: Optional[str] = None) -> None:
        with self._lock:
            if self.list_every_message and message_id is not None:
                self._route_reasons[message_id] = reason
            if reason in self.bus_route_reasons or len(self.bus_route_reasons) < BREAKDOWN_KEYS:
                self.bus_route_reasons[reason] += 1
            else:
                self.bus_route_reasons[OTHER_KEY] += 1

    def put_despite_rule(self, reason: str, known: bool) -> None:
        """Put under `when_rule_unmatched: put`: known not to reach its rule, or unchecked."""
        with self._lock:
            self.counts["unmatched_rule_put" if known else "unchecked_rule_put"] += 1
            self.rule_put_reasons[reason] += 1  # a handful of codes: no bound needed

    def delete_failed(self, record_id: str, code: str) -> None:
        with self._lock:
            self.counts["delete_failures"] += 1
            if len(self.delete_failed_messages) < self.kept_limit:
                self.delete_failed_messages.append(
                    {
                        "message_id": record_id,
                        "reason": f"delete_failed: {code}; the event was delivered and "
                        "the message may be received and redriven again",
                    }
                )

    def _count(self, record: DlqRecord, outcome: str, destination: Optional[Destination]) -> None:
        self.counts[outcome] += 1
        _bump(self.breakdowns["by_rule"], record.rule_arn or NONE_KEY, outcome)
        _bump(self.breakdowns["by_error_code"], record.error_code or NONE_KEY, outcome)
        if destination is not None and outcome in (REDRIVEN, DUPLICATE):
            key = "by_bus" if destination.route is Route.BUS else "by_target"
            _bump(self.breakdowns[key], destination.name, outcome)

    def _note_kept(
        self,
        record: DlqRecord,
        outcome: str,
        failure: Failure,
        destination: Optional[Destination],
    ) -> None:
        if len(self.kept_messages) >= self.kept_limit:
            self.kept_messages_truncated += 1
            return
        item: dict[str, Any] = {
            "message_id": record.message_id,
            "outcome": outcome,
            "reason": failure.describe(),
            **failure.as_dict(),
            **destination_fields(destination),
        }
        if record.event_id:
            item["event_id"] = record.event_id
        item["origin"] = record.origin
        if record.origin == ORIGIN_SCHEDULER:
            attributes = record.attributes()
            item.update((name, attributes[name]) for name in SCHEDULER_FIELDS if name in attributes)
        if self.include_bodies:
            item["body"] = record.body
        self.kept_messages.append(item)

    def _list(
        self,
        record: DlqRecord,
        outcome: str,
        destination: Optional[Destination],
        size: Optional[int] = None,
        failure: Optional[Failure] = None,
        note: Optional[str] = None,
    ) -> None:
        """Check mode says what would happen message by message."""
        if not self.list_every_message:
            return
        route_reason = self._route_reasons.pop(record.message_id, None)
        if len(self.messages) >= self.kept_limit:
            self.messages_truncated += 1
            return
        item: dict[str, Any] = {
            "message_id": record.message_id,
            "outcome": outcome,
            **destination_fields(destination),
        }
        if route_reason is not None:
            item["route_reason"] = route_reason
        if size is not None:
            item["payload_size"] = size
        if failure is not None:
            item["reason"] = failure.describe()
        elif note:
            item["reason"] = note
        self.messages.append(item)

    def snapshot(self) -> dict[str, Any]:
        """Counts only: cheap enough for a progress callback."""
        with self._lock:
            counts = {name: self.counts[name] for name in ("received", *OUTCOMES)}
            counts["elapsed_seconds"] = round(self._clock() - self.started, 3)
            return counts

    def result(self) -> dict[str, Any]:
        with self._lock:
            result: dict[str, Any] = {name: self.counts[name] for name in COUNTS}
            result.update({name: _plain(breakdown) for name, breakdown in self.breakdowns.items()})
            result.update(
                kept_messages=list(self.kept_messages),
                kept_messages_truncated=self.kept_messages_truncated,
                delete_failed_messages=list(self.delete_failed_messages),
                api_calls=dict(sorted(self.api_calls.items())),
                bus_route_reasons=dict(sorted(self.bus_route_reasons.items())),
                rule_check_put_reasons=dict(sorted(self.rule_put_reasons.items())),
                duration_seconds=round(self._clock() - self.started, 3),
            )
            if self.list_every_message:
                result["messages"] = list(self.messages)
                result["messages_truncated"] = self.messages_truncated
            return result


def _bump(breakdown: dict[str, Counter[str]], key: str, outcome: str) -> None:
    if key not in breakdown and len(breakdown) >= BREAKDOWN_KEYS:
        key = OTHER_KEY
    breakdown.setdefault(key, Counter())[outcome] += 1


def _plain(breakdown: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {key: dict(counter) for key, counter in sorted(breakdown.items())}
