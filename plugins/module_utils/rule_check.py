# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does an event put back on its bus still reach the rule whose target failed?

PutEvents refuses `aws.*` sources, so `aws.s3` goes back as `redrive.aws.s3`, and a rule
on `source: ["aws.s3"]` no longer matches it: the DLQ empties and the failed target gets
nothing. Each rule's pattern is read once per run (DescribeRule, a read call) and matched,
with our own matcher, against the event exactly as the entry would create it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from .entries import Entry
from .failures import Failure, Kind
from .lookups import RuleBook, RuleRef
from .records import ORIGIN_EVENTBRIDGE, DlqRecord


@dataclass(frozen=True)
class RuleMatch:
    """The answer: `matches` None when there is no rule to check or it cannot be read
    (`failure` then says why, when that is a reason not to put)."""

    matches: Optional[bool]
    unmatched_field: Optional[str] = None
    failure: Optional[Failure] = None


NOT_CHECKED = RuleMatch(None)


def event_as_put(record: DlqRecord, entry: Entry) -> dict[str, Any]:
    """The event PutEvents would make of the entry: the original envelope with the
    entry's source, detail-type, detail (marker included) and resources."""
    event = dict(record.event or {})
    event["source"] = entry.fields["Source"]
    event["detail-type"] = entry.fields["DetailType"]
    if entry.fields["Detail"] != record.detail_text:
        event["detail"] = json.loads(entry.fields["Detail"])
    event["resources"] = list(entry.fields.get("Resources") or [])
    return event


def _unmatched(ref: RuleRef, why: str) -> RuleMatch:
    failure = Failure(
        Kind.RULE_UNMATCHED,
        "no_longer_matches_rule",
        f"{why} (rule {ref.name} on {ref.bus}); deliver it to the rule's target "
        "(deliver_to: target) or add a rule that matches the redriven event",
    )
    return RuleMatch(False, why, failure)


class RuleChecker:
    def __init__(self, rules: RuleBook) -> None:
        self._rules = rules

    def check(self, record: DlqRecord, entry: Entry) -> RuleMatch:
        if record.origin != ORIGIN_EVENTBRIDGE:
            return NOT_CHECKED
        ref = RuleRef.parse(record.rule_arn)
        if ref is None:
            return NOT_CHECKED
        info = self._rules.rule(ref)
        if info.failure is not None:
            return RuleMatch(None, None, info.failure)
        if info.state == "DISABLED":
            return _unmatched(ref, "the rule is disabled")
        if info.pattern_error is not None:
            failure = Failure(
                Kind.RULE_UNREADABLE,
                "rule_pattern_unreadable",
                f"rule {ref.name}: {info.pattern_error}",
            )
            return RuleMatch(None, None, failure)
        if info.pattern is None:
            schedule = f" ({info.schedule})" if info.schedule else ""
            return _unmatched(ref, f"the rule has no event pattern{schedule}")
        mismatch = info.pattern.mismatch(event_as_put(record, entry))
        if mismatch is None:
            return RuleMatch(True)
        return _unmatched(ref, str(mismatch))
