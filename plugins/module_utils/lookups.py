# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only questions a run asks EventBridge once each: does this bus exist, what does
this rule match, which targets does it have.

They are read calls (allowed in check mode) and cached per run. Only a definite answer
is cached: a throttled or failed question is asked again by the next message that needs
it, and never turns into "not found". Workers asking the same question wait for the one
call in progress; workers asking other questions are not held up by it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from .aws import AwsError, arn_region, aws_error
from .entries import split_rule_arn
from .failures import CodeClass, Failure, Kind, classify
from .patterns import EventPattern, PatternError

Key = TypeVar("Key")
Value = TypeVar("Value")
CallCounter = Callable[[str], None]

NOT_FOUND_CODES = frozenset(("ResourceNotFoundException", "ResourceNotFound"))


class OnceCache(Generic[Key, Value]):
    """Compute each key once; `compute` returns (value, cacheable)."""

    def __init__(self, compute: Callable[[Key], tuple[Value, bool]]) -> None:
        self._compute = compute
        self._done: dict[Key, Value] = {}
        self._running: dict[Key, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value:
        while True:
            with self._lock:
                if key in self._done:
                    return self._done[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            running.wait()
        try:
            value, cacheable = self._compute(key)
            if cacheable:
                with self._lock:
                    self._done[key] = value
            return value
        finally:
            with self._lock:
                del self._running[key]
            running.set()


def _denied_hint(action: str, resource: str) -> str:
    return f"grant {action} on {resource} to the caller (see docs/iam.md)"


def lookup_failure(error: AwsError, iam_action: str, resource: str) -> tuple[Failure, bool]:
    """A failed read call as the failure of the messages that needed it, and whether the
    answer is definite (cacheable)."""
    code_class = classify(error.code)
    if error.code.startswith("AccessDenied") or error.code == "403":
        message = _denied_hint(iam_action, resource)
        return Failure(Kind.CHECK_DENIED, error.code, message, 1, None, code_class), True
    if code_class is CodeClass.FATAL:
        raise error
    # Not definite: a later message asks again, and this one stays for a later run.
    return Failure(
        Kind.CHECK_FAILED, error.code, error.message, 1, None, CodeClass.TRANSIENT
    ), False


# ---- buses -------------------------------------------------------------------------------


class BusCheck:
    """None when a bus can be used (or we may not ask), else why not."""

    def __init__(self, client_for: Callable[[Optional[str]], Any], count_call: CallCounter) -> None:
        self._client_for = client_for
        self._count_call = count_call
        self._cache: OnceCache[str, Optional[Failure]] = OnceCache(self._ask)

    def problem(self, bus: str) -> Optional[Failure]:
        return self._cache.get(bus)

    def _ask(self, bus: str) -> tuple[Optional[Failure], bool]:
        self._count_call("DescribeEventBus")
        try:
            self._client_for(arn_region(bus)).describe_event_bus(Name=bus)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, "DescribeEventBus")
            if translated.code.startswith("AccessDenied"):
                # Least-privilege callers may put without being allowed to describe.
                return None, True
            if translated.code in NOT_FOUND_CODES:
                missing = Failure(
                    Kind.BUS_MISSING,
                    "event_bus_not_found",
                    f"event bus {bus!r} does not exist",
                )
                return missing, True
            failure, cacheable = lookup_failure(translated, "events:DescribeEventBus", bus)
            return failure, cacheable
        return None, True


# ---- rules and their targets --------------------------------------------------------------


@dataclass(frozen=True)
class RuleRef:
    """A rule named by a RULE_ARN: its region, bus and name."""

    arn: str
    region: Optional[str]
    bus: str
    name: str

    @property
    def account(self) -> Optional[str]:
        parts = self.arn.split(":")
        return parts[4] or None if len(parts) > 4 else None

    @classmethod
    def parse(cls, rule_arn: Optional[str]) -> Optional[RuleRef]:
        parts = split_rule_arn(rule_arn)
        if rule_arn is None or parts is None:
            return None
        return cls(rule_arn, arn_region(rule_arn), parts[0], parts[1])


@dataclass(frozen=True)
class RuleInfo:
    """What DescribeRule says of a rule (or why it could not be read), its pattern compiled."""

    ref: RuleRef
    event_pattern: Optional[str] = None
    schedule: Optional[str] = None
    state: Optional[str] = None
    failure: Optional[Failure] = None
    pattern: Optional[EventPattern] = field(default=None, compare=False)
    pattern_error: Optional[str] = None


@dataclass(frozen=True)
class RuleTargets:
    """What ListTargetsByRule says of a rule (or why it could not be read)."""

    ref: RuleRef
    targets: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    failure: Optional[Failure] = None


class RuleBook:
    """DescribeRule and ListTargetsByRule, once per rule per run."""

    def __init__(self, client_for: Callable[[Optional[str]], Any], count_call: CallCounter) -> None:
        self._client_for = client_for
        self._count_call = count_call
        self._rules: OnceCache[RuleRef, RuleInfo] = OnceCache(self._describe)
        self._targets: OnceCache[RuleRef, RuleTargets] = OnceCache(self._list_targets)

    def rule(self, ref: RuleRef) -> RuleInfo:
        return self._rules.get(ref)

    def targets(self, ref: RuleRef) -> RuleTargets:
        return self._targets.get(ref)

    def _describe(self, ref: RuleRef) -> tuple[RuleInfo, bool]:
        self._count_call("DescribeRule")
        try:
            answer = self._client_for(ref.region).describe_rule(Name=ref.name, EventBusName=ref.bus)
        except Exception as error:  # botocore raises many unrelated classes
            failure, cacheable = self._failure(error, "DescribeRule", "events:DescribeRule", ref)
            return RuleInfo(ref, failure=failure), cacheable
        text = _text_or_none(answer.get("EventPattern"))
        pattern, pattern_error = None, None
        if text is not None:
            try:
                pattern = EventPattern.parse(text)
            except PatternError as error:
                pattern_error = str(error)
        info = RuleInfo(
            ref,
            event_pattern=text,
            schedule=_text_or_none(answer.get("ScheduleExpression")),
            state=_text_or_none(answer.get("State")),
            pattern=pattern,
            pattern_error=pattern_error,
        )
        return info, True

    def _list_targets(self, ref: RuleRef) -> tuple[RuleTargets, bool]:
        targets: list[Mapping[str, Any]] = []
        token: Optional[str] = None
        client = self._client_for(ref.region)
        while True:
            self._count_call("ListTargetsByRule")
            request: dict[str, Any] = {"Rule": ref.name, "EventBusName": ref.bus}
            if token:
                request["NextToken"] = token
            try:
                answer = client.list_targets_by_rule(**request)
            except Exception as error:  # botocore raises many unrelated classes
                failure, cacheable = self._failure(
                    error, "ListTargetsByRule", "events:ListTargetsByRule", ref
                )
                return RuleTargets(ref, failure=failure), cacheable
            targets.extend(answer.get("Targets") or [])
            token = answer.get("NextToken")
            if not token:
                return RuleTargets(ref, tuple(targets)), True

    @staticmethod
    def _failure(
        error: BaseException, action: str, iam_action: str, ref: RuleRef
    ) -> tuple[Failure, bool]:
        translated = aws_error(error, action)
        if translated.code in NOT_FOUND_CODES:
            message = f"rule {ref.name!r} on bus {ref.bus!r} does not exist"
            return Failure(Kind.RULE_NOT_FOUND, "rule_not_found", message), True
        return lookup_failure(translated, iam_action, ref.arn)


@dataclass(frozen=True)
class Lookups:
    """The bus and rule lookups a run asks. A caller that runs many small runs (a warm
    Lambda container, one run per batch) may keep one across them, so a rule is not
    described again for every batch; it decides itself how long the answers stay fresh."""

    buses: Optional[BusCheck] = None
    rules: Optional[RuleBook] = None


def _text_or_none(value: Union[str, Any, None]) -> Optional[str]:
    return value if isinstance(value, str) and value else None
