# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which records a run selects: pure predicates over a DlqRecord."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .patterns import EventPattern
from .records import DlqRecord


def _frozen(values: Optional[object]) -> Optional[frozenset[str]]:
    if values is None:
        return None
    return frozenset(str(value) for value in values)  # type: ignore[attr-defined]


def _pattern(value: Optional[object]) -> Optional[EventPattern]:
    """A pattern given as a mapping or JSON text (raises PatternError if malformed)."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, EventPattern):
        return value
    return EventPattern.parse(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RecordFilter:
    """Every set criterion must match; an empty filter selects everything.

    Ages are measured from the DLQ message's SentTimestamp, the moment the
    failure was recorded.
    """

    rule_arns: Optional[frozenset[str]] = None
    target_arns: Optional[frozenset[str]] = None
    error_codes: Optional[frozenset[str]] = None
    exhausted_retry_conditions: Optional[frozenset[str]] = None
    message_ids: Optional[frozenset[str]] = None
    min_age_seconds: Optional[float] = None
    max_age_seconds: Optional[float] = None
    # Matched against the original event in the message, before any rewrite.
    event_pattern: Optional[EventPattern] = None

    @classmethod
    def build(
        cls,
        rule_arns: Optional[object] = None,
        target_arns: Optional[object] = None,
        error_codes: Optional[object] = None,
        exhausted_retry_conditions: Optional[object] = None,
        message_ids: Optional[object] = None,
        min_age_seconds: Optional[float] = None,
        max_age_seconds: Optional[float] = None,
        event_pattern: Optional[object] = None,
    ) -> RecordFilter:
        """Build from option values; empty lists mean "no criterion", except for
        message_ids, where an empty list selects nothing."""
        return cls(
            rule_arns=_frozen(rule_arns or None),
            target_arns=_frozen(target_arns or None),
            error_codes=_frozen(error_codes or None),
            exhausted_retry_conditions=_frozen(exhausted_retry_conditions or None),
            # An empty id list is a selection that came out empty, not "no filter":
            # it must redrive nothing rather than the whole queue.
            message_ids=_frozen(message_ids),
            min_age_seconds=min_age_seconds,
            max_age_seconds=max_age_seconds,
            event_pattern=_pattern(event_pattern),
        )

    @property
    def is_empty(self) -> bool:
        return self == RecordFilter()

    def matches(self, record: DlqRecord, now_ms: int) -> bool:
        return self.mismatch(record, now_ms) is None

    def mismatch(self, record: DlqRecord, now_ms: int) -> Optional[str]:
        """The name of the first criterion the record fails, or None."""
        checks = (
            ("message_ids", self.message_ids, record.message_id),
            ("rule_arns", self.rule_arns, record.rule_arn),
            ("target_arns", self.target_arns, record.target_arn),
            ("error_codes", self.error_codes, record.error_code),
            (
                "exhausted_retry_conditions",
                self.exhausted_retry_conditions,
                record.exhausted_retry_condition,
            ),
        )
        for name, allowed, value in checks:
            if allowed is not None and value not in allowed:
                return name
        if self.event_pattern is not None and (
            record.event is None or not self.event_pattern.matches(record.event)
        ):
            return "event_pattern"
        if self.min_age_seconds is None and self.max_age_seconds is None:
            return None
        if record.sent_timestamp_ms is None:
            return "age_unknown"
        age = (now_ms - record.sent_timestamp_ms) / 1000.0
        if self.min_age_seconds is not None and age < self.min_age_seconds:
            return "min_age_seconds"
        if self.max_age_seconds is not None and age > self.max_age_seconds:
            return "max_age_seconds"
        return None
