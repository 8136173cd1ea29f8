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
from .records import ORIGIN_ENCRYPTED_EVENT, ORIGIN_EVENTBRIDGE, DlqRecord


@dataclass(frozen=True)
class RuleMatch:
    """The answer. `matches` is True or False when it is known, None when there is no rule
    to check or it cannot be read. `reason` says why it is not True (None for records that
    belong to no rule, such as Lambda DLQ messages), as results count it; `failure` is set
    when that reason is one to keep the message for."""

    matches: Optional[bool]
    unmatched_field: Optional[str] = None
    failure: Optional[Failure] = None
    reason: Optional[str] = None

    @classmethod
    def failed(
        cls, matches: Optional[bool], failure: Failure, unmatched_field: Optional[str] = None
    ) -> RuleMatch:
        # The AWS code of a denied DescribeRule varies (AccessDeniedException, 403).
        reason = "rule_check_denied" if failure.kind is Kind.CHECK_DENIED else failure.code
        return cls(matches, unmatched_field, failure, reason)

    @property
    def known(self) -> bool:
        """Whether the answer is definite: an unknown one is no "unmatched"."""
        return self.matches is not None


NOT_CHECKED = RuleMatch(None)
PUT_HINT = "when_rule_unmatched: put puts it anyway"


def event_as_put(record: DlqRecord, entry: Entry, ref: RuleRef) -> dict[str, Any]:
    """The event PutEvents would make of the entry on the rule's bus: the original envelope
    with the entry's source, detail-type, detail (marker included) and resources, and the
    account and region PutEvents stamps: the caller's (normally the rule's account) and the
    bus's, both read from the RULE_ARN."""
    event = dict(record.event or {})
    event["source"] = entry.fields["Source"]
    event["detail-type"] = entry.fields["DetailType"]
    if entry.fields["Detail"] != record.detail_text:
        event["detail"] = json.loads(entry.fields["Detail"])
    event["resources"] = list(entry.fields.get("Resources") or [])
    if ref.account:
        event["account"] = ref.account
    if ref.region:
        event["region"] = ref.region
    return event


def _unmatched(ref: RuleRef, why: str, code: str = "no_longer_matches_rule") -> RuleMatch:
    failure = Failure(
        Kind.RULE_UNMATCHED,
        code,
        f"{why} (rule {ref.name} on {ref.bus}); deliver it to the rule's target "
        "(deliver_to: target) or add a rule that matches the redriven event",
    )
    return RuleMatch.failed(False, failure, why)


# A rule-target record that names no rule, put on the bus `event_bus` names: there is no
# rule to check, so it is put unchecked and counted as such, never matched against a guess.
NO_RULE = RuleMatch(None, reason="no_rule_arn")


class RuleChecker:
    def __init__(self, rules: RuleBook) -> None:
        self._rules = rules

    def check(self, record: DlqRecord, entry: Entry) -> RuleMatch:
        if record.origin not in (ORIGIN_EVENTBRIDGE, ORIGIN_ENCRYPTED_EVENT):
            return NOT_CHECKED
        ref = RuleRef.parse(record.rule_arn)
        if ref is None:
            return NO_RULE
        info = self._rules.rule(ref)
        if info.failure is not None:
            # A rule that is gone matches nothing: a definite answer. A denied or failed
            # DescribeRule is no answer at all.
            known = info.failure.kind is Kind.RULE_NOT_FOUND
            return RuleMatch.failed(False if known else None, info.failure)
        if info.state == "DISABLED":
            return _unmatched(ref, "the rule is disabled", "rule_disabled")
        if info.pattern_error is not None:
            failure = Failure(
                Kind.RULE_UNREADABLE,
                "rule_pattern_unreadable",
                f"rule {ref.name}: {info.pattern_error}; {PUT_HINT}",
            )
            return RuleMatch.failed(None, failure)
        if info.pattern is None:
            schedule = f" ({info.schedule})" if info.schedule else ""
            return _unmatched(
                ref, f"the rule has no event pattern{schedule}", "rule_has_no_pattern"
            )
        mismatch = info.pattern.mismatch(event_as_put(record, entry, ref))
        if mismatch is None:
            return RuleMatch(True)
        return _unmatched(ref, str(mismatch))
