# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide, per record, what a run does with it: deliver it somewhere, keep it, or leave it.

The real run, the check-mode preview, the lookup and the CLI peek all ask the same
Planner, so they can never disagree about a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from .aws import arn_region
from .batching import DEFAULT_MAX_REQUEST_BYTES
from .decrypt import DecryptError, decrypt_record
from .delivery import Delivery, Destination, Route, Target, TargetType
from .entries import Entry, EntryOptions, build_entry, choose_bus, utf8_len
from .failures import CodeClass, Failure, Kind, classify
from .filters import RecordFilter
from .lookups import BusCheck, RuleBook
from .records import DlqRecord, ProblemKind
from .routing import DeliverTo, NoTarget, TargetResolver, payload_for
from .rule_check import NOT_CHECKED, RuleChecker, RuleMatch
from .scheduler import request_for, scheduler_destination


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
    # Put although the rule check did not say it matches its rule: with
    # when_rule_unmatched: put, or because the record names no rule (rule_match.reason says).
    unmatched_put: bool = False
    rule_match: RuleMatch = NOT_CHECKED
    # Why `auto` put it on the bus rather than sending it to its target.
    route_reason: Optional[str] = None


Plan = Union[Filtered, Keep, Deliver]


KEEP_UNMATCHED = "keep"
PUT_UNMATCHED = "put"
SOURCE_REWRITTEN_FOR_BUS_TARGET = "source_rewritten_for_bus_target"


@dataclass(frozen=True)
class PlanSettings:
    entry_options: EntryOptions = field(default_factory=EntryOptions)
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    when_rule_unmatched: str = KEEP_UNMATCHED
    deliver_to: DeliverTo = DeliverTo.AUTO
    target_arn: Optional[str] = None
    decrypt: bool = False


def bus_destination(bus: str) -> Destination:
    return Destination(Route.BUS, TargetType.EVENT_BUS, bus)


def target_destination(target: Target) -> Destination:
    """The failed target; an unsupported type keeps EVENT_BUS only as a placeholder type,
    never delivered to (the planner keeps or reroutes it first)."""
    kind = target.type or TargetType.EVENT_BUS
    return Destination(Route.TARGET, kind, target.arn, target.region, target)


_PROBLEM_KINDS = {
    ProblemKind.BAD_RECORD: Kind.BAD_RECORD,
    ProblemKind.FOREIGN_RECORD: Kind.FOREIGN_RECORD,
    ProblemKind.ENCRYPTED: Kind.ENCRYPTED,
    ProblemKind.SCHEDULER: Kind.SCHEDULER,
}


def record_failure(record: DlqRecord) -> Failure:
    """The failure of a record the parser could not make an event of, with its hint."""
    kind = _PROBLEM_KINDS.get(record.problem_kind or ProblemKind.BAD_RECORD, Kind.BAD_RECORD)
    return Failure(kind, record.problem or "unknown", record.hint or "")


def decrypt_failure(error: DecryptError) -> Failure:
    """A wrapper that did not decrypt: a payload that never will is terminal; a denied or
    disabled key is held for a fix; a passing KMS failure is transient."""
    code_class = CodeClass.TERMINAL if error.permanent else classify(error.code)
    if code_class is CodeClass.TERMINAL and not error.permanent:
        code_class = CodeClass.FATAL  # a key problem, not the payload's: hold it
    return Failure(Kind.DECRYPT_FAILED, error.code, error.message, 1, None, code_class)


class Planner:
    def __init__(
        self,
        settings: PlanSettings,
        bus_check: Optional[BusCheck] = None,
        rules: Optional[RuleBook] = None,
        kms_for: Optional[Callable[[Optional[str]], Any]] = None,
    ) -> None:
        self.settings = settings
        self._bus_check = bus_check
        self._rule_checker = RuleChecker(rules) if rules is not None else None
        self._targets = TargetResolver(rules, settings.target_arn)
        self._kms_for = kms_for

    @property
    def entry_options(self) -> EntryOptions:
        return self.settings.entry_options

    def decide(self, record: DlqRecord, now_ms: int) -> Plan:
        if record.problem_kind is ProblemKind.ENCRYPTED and self.settings.decrypt:
            decrypted = self._decrypt(record)
            if isinstance(decrypted, Failure):
                return Keep(decrypted)
            record = decrypted
        mismatch = self.settings.record_filter.mismatch(record, now_ms)
        if mismatch is not None:
            return Filtered(f"not selected by {mismatch}")
        if record.problem_kind is ProblemKind.SCHEDULER:
            return self._scheduled(record)
        if record.problem is not None:
            return Keep(record_failure(record))
        if self.settings.deliver_to is DeliverTo.BUS:
            return self._to_bus(record)
        return self._route(record)

    def _decrypt(self, record: DlqRecord) -> Union[DlqRecord, Failure]:
        """The wrapper's original event, decrypted through KMS (a read call)."""
        if self._kms_for is None:
            return Failure(Kind.DECRYPT_FAILED, "MissingClient", "no KMS client in this run")
        region = arn_region(record.kms_key_arn or "")
        try:
            return decrypt_record(record, self._kms_for(region))
        except DecryptError as error:
            return decrypt_failure(error)

    def _scheduled(self, record: DlqRecord) -> Plan:
        """A schedule's request goes to the API the schedule called, never on a bus."""
        if self.settings.deliver_to is DeliverTo.BUS:
            return Keep(record_failure(record))
        destination = scheduler_destination(record)
        if record.schedule_input is None:
            problem = record.schedule_input_problem or record.problem or "scheduler_dead_letter"
            return Keep(Failure(Kind.SCHEDULER, problem, record.hint or ""), destination)
        request = request_for(record)
        if isinstance(request, Failure):
            return Keep(request, destination)
        payload = record.schedule_input.text
        return Deliver(Delivery(record, destination, payload, utf8_len(payload)))

    def _route(self, record: DlqRecord) -> Plan:
        """The failed target when it can be resolved; `auto` falls back to the bus only
        when there is no target to find or its type is not delivered to, never when the
        rule or target is gone or unreadable."""
        strict = self.settings.deliver_to is DeliverTo.TARGET
        resolved = self._targets.resolve(record)
        if isinstance(resolved, Failure):
            return Keep(resolved)
        if isinstance(resolved, NoTarget):
            if strict:
                return Keep(Failure(Kind.NO_TARGET, "no_target", resolved.reason))
            return self._to_bus(record, resolved.reason)
        destination = target_destination(resolved)
        if resolved.type is None:
            if strict:
                failure = Failure(
                    Kind.TARGET_UNSUPPORTED, "target_type_not_supported", resolved.type_name
                )
                return Keep(failure, destination)
            return self._to_bus(record, f"target_type_not_supported: {resolved.type_name}")
        return self._to_target(record, destination)

    def _to_target(self, record: DlqRecord, destination: Destination) -> Plan:
        target = destination.target
        if target is None:  # target_destination always sets it
            raise ValueError("a target destination without its target")
        if destination.type is TargetType.EVENT_BUS:
            # Another bus (another account or region): PutEvents there.
            entry = build_entry(record, self.entry_options, destination.arn)
            return self._bus_target_plan(record, destination, entry)
        payload = payload_for(record, target, record.event_text or record.body)
        if isinstance(payload, Failure):
            return Keep(payload, destination)
        return Deliver(Delivery(record, destination, payload, utf8_len(payload)))

    def _bus_target_plan(self, record: DlqRecord, destination: Destination, entry: Entry) -> Plan:
        """EventBridge forwards an `aws.*` event to a bus target as it is; PutEvents cannot,
        and the rules on that bus, which this run cannot read, were written for the original
        source. So a rewritten source is held like an unmatched rule, unless asked for."""
        plan = self._entry_plan(record, destination, entry)
        rewritten_only_by_prefix = self.entry_options.source_override is None
        if not isinstance(plan, Deliver) or not (
            entry.source_rewritten and rewritten_only_by_prefix
        ):
            return plan
        original = (record.event or {}).get("source")
        field = f"source: {entry.fields['Source']} (the event's source is {original})"
        failure = Failure(
            Kind.RULE_UNMATCHED,
            SOURCE_REWRITTEN_FOR_BUS_TARGET,
            f"{field}; PutEvents refuses aws.* sources, and rules on {destination.arn} "
            f"written for {original} would not match the rewritten one; set "
            "when_rule_unmatched: put to send it anyway",
        )
        rule_match = RuleMatch.failed(False, failure, field)
        if self.settings.when_rule_unmatched == PUT_UNMATCHED:
            return Deliver(plan.delivery, True, rule_match)
        return Keep(failure, destination, entry, rule_match)

    def _entry_plan(self, record: DlqRecord, destination: Destination, entry: Entry) -> Plan:
        if entry.size >= self.settings.max_request_bytes:
            failure = Failure(
                Kind.ENTRY_TOO_LARGE,
                "entry_too_large",
                f"{entry.size} bytes, limit {self.settings.max_request_bytes}",
            )
            return Keep(failure, destination, entry)
        return Deliver(Delivery(record, destination, entry.fields["Detail"], entry.size, entry))

    def _to_bus(self, record: DlqRecord, route_reason: Optional[str] = None) -> Plan:
        bus = choose_bus(record, self.entry_options)
        if bus is None:
            failure = Failure(
                Kind.UNKNOWN_BUS,
                "unknown_bus",
                f"RULE_ARN {record.rule_arn or '(missing)'} names no bus; set event_bus",
            )
            return Keep(failure)
        destination = bus_destination(bus)
        entry = build_entry(record, self.entry_options, bus)
        if self._bus_check is not None:
            problem = self._bus_check.problem(bus)
            if problem is not None:
                return Keep(problem, destination, entry)
        plan = self._entry_plan(record, destination, entry)
        if not isinstance(plan, Deliver):
            return plan
        rule_match = NOT_CHECKED
        if self._rule_checker is not None:
            rule_match = self._rule_checker.check(record, entry)
        failure = rule_match.failure
        if failure is None:  # matches, or there is no rule to check (counted as unchecked)
            return Deliver(plan.delivery, rule_match.reason is not None, rule_match, route_reason)
        # `put` puts what is known not to match and what cannot be checked (earlier
        # releases checked nothing); a failed DescribeRule is asked again by a later run.
        put_anyway = self.settings.when_rule_unmatched == PUT_UNMATCHED
        if not put_anyway or failure.kind is Kind.CHECK_FAILED:
            return Keep(failure, destination, entry, rule_match)
        return Deliver(plan.delivery, True, rule_match, route_reason)
