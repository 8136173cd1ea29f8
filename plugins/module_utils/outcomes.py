# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What happened to each message, tallied into the result every shell returns."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Optional

from .records import DlqRecord

REDRIVEN = "redriven"
KEPT = "kept"
QUARANTINED = "quarantined"
FILTERED_OUT = "filtered_out"
DUPLICATE = "duplicates_skipped"
OUTCOMES = (REDRIVEN, KEPT, QUARANTINED, FILTERED_OUT, DUPLICATE)

# Breakdowns are keyed by rule, bus and error code; a DLQ can name thousands of
# them, so past this many keys the rest are counted under one.
BREAKDOWN_KEYS = 50
OTHER_KEY = "(other)"
NONE_KEY = "(none)"


class Tally:
    """Thread-safe counters, bounded breakdowns and a capped list of kept messages."""

    def __init__(self, kept_limit: int = 100, include_bodies: bool = False) -> None:
        self._lock = threading.Lock()
        self.kept_limit = kept_limit
        self.include_bodies = include_bodies
        self.counts: Counter[str] = Counter()
        self.by_rule: dict[str, Counter[str]] = {}
        self.by_bus: dict[str, Counter[str]] = {}
        self.by_error_code: dict[str, Counter[str]] = {}
        self.kept_messages: list[dict[str, Any]] = []
        self.kept_messages_truncated = 0
        self.delete_failed_messages: list[dict[str, Any]] = []
        self.api_calls: Counter[str] = Counter()
        self.started = time.monotonic()

    def call(self, action: str) -> None:
        with self._lock:
            self.api_calls[action] += 1

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def outcome(
        self,
        record: DlqRecord,
        outcome: str,
        bus: Optional[str] = None,
        reason: Optional[str] = None,
    ) -> None:
        with self._lock:
            self.counts[outcome] += 1
            _bump(self.by_rule, record.rule_arn or NONE_KEY, outcome)
            _bump(self.by_error_code, record.error_code or NONE_KEY, outcome)
            if bus is not None:
                _bump(self.by_bus, bus, outcome)
            if outcome in (KEPT, QUARANTINED):
                self._note_kept(record, outcome, reason)

    def delete_failed(self, record: DlqRecord, code: str) -> None:
        with self._lock:
            self.counts["delete_failures"] += 1
            if len(self.delete_failed_messages) < self.kept_limit:
                self.delete_failed_messages.append(
                    {
                        "message_id": record.message_id,
                        "reason": f"delete_failed: {code}; the event was delivered and "
                        "the message may be received and redriven again",
                    }
                )

    def _note_kept(self, record: DlqRecord, outcome: str, reason: Optional[str]) -> None:
        if len(self.kept_messages) >= self.kept_limit:
            self.kept_messages_truncated += 1
            return
        item: dict[str, Any] = {
            "message_id": record.message_id,
            "outcome": outcome,
            "reason": reason or "unknown",
        }
        if record.event_id:
            item["event_id"] = record.event_id
        if self.include_bodies:
            item["body"] = record.body
        self.kept_messages.append(item)

    def snapshot(self) -> dict[str, Any]:
        """Counts only: cheap enough for a progress callback."""
        with self._lock:
            counts = {name: self.counts[name] for name in ("received", *OUTCOMES)}
            counts["elapsed_seconds"] = round(time.monotonic() - self.started, 3)
            return counts

    def result(self) -> dict[str, Any]:
        with self._lock:
            counts = {
                name: self.counts[name]
                for name in (
                    "received",
                    *OUTCOMES,
                    "delete_failures",
                    "release_failures",
                    "sources_rewritten",
                )
            }
            return {
                **counts,
                "by_rule": _plain(self.by_rule),
                "by_bus": _plain(self.by_bus),
                "by_error_code": _plain(self.by_error_code),
                "kept_messages": list(self.kept_messages),
                "kept_messages_truncated": self.kept_messages_truncated,
                "delete_failed_messages": list(self.delete_failed_messages),
                "api_calls": dict(sorted(self.api_calls.items())),
                "duration_seconds": round(time.monotonic() - self.started, 3),
            }


def _bump(breakdown: dict[str, Counter[str]], key: str, outcome: str) -> None:
    if key not in breakdown and len(breakdown) >= BREAKDOWN_KEYS:
        key = OTHER_KEY
    breakdown.setdefault(key, Counter())[outcome] += 1


def _plain(breakdown: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {key: dict(counter) for key, counter in sorted(breakdown.items())}
