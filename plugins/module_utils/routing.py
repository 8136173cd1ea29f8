# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which target a message failed to reach, and what EventBridge would have sent it.

A rule-target DLQ message names its rule (RULE_ARN) and target (TARGET_ARN); the target's
settings (Input, InputPath, InputTransformer, SqsParameters, KinesisParameters, ...) come
from ListTargetsByRule, read once per rule per run. A Lambda on-failure destination
record names its function. Other messages name no target: `target_arn` can.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from .delivery import Target
from .failures import Failure, Kind
from .lookups import RuleBook, RuleRef
from .records import (
    ORIGIN_ENCRYPTED_EVENT,
    ORIGIN_EVENTBRIDGE,
    ORIGIN_LAMBDA_DESTINATION,
    DlqRecord,
)
from .targets import target_type
from .transform import RuleContext, TransformError, target_payload

# Records that carry the event as EventBridge saw it, before the target's input settings.
RULE_ORIGINS = frozenset((ORIGIN_EVENTBRIDGE, ORIGIN_ENCRYPTED_EVENT))


class DeliverTo(enum.Enum):
    AUTO = "auto"
    TARGET = "target"
    BUS = "bus"


@dataclass(frozen=True)
class NoTarget:
    """The message names no target (and `target_arn` names none): `auto` puts it on the bus."""

    reason: str


Resolved = Union[Target, Failure, NoTarget]


class TargetResolver:
    def __init__(self, rules: Optional[RuleBook], target_arn: Optional[str] = None) -> None:
        self._rules = rules
        self._target_arn = target_arn

    def resolve(self, record: DlqRecord) -> Resolved:
        if record.origin == ORIGIN_EVENTBRIDGE:
            return self._rule_target(record)
        if record.origin == ORIGIN_ENCRYPTED_EVENT:
            # Decrypted: a target DLQ's wrapper names its target; a bus DLQ's names none.
            if record.target_arn:
                return self._rule_target(record)
            return NoTarget("the encrypted event came from a bus DLQ and names no target")
        if record.origin == ORIGIN_LAMBDA_DESTINATION and record.target_arn:
            return _target(record.target_arn)
        if self._target_arn:
            return _target(self._target_arn)
        return NoTarget("the message names no target (set target_arn)")

    def _rule_target(self, record: DlqRecord) -> Resolved:
        ref = RuleRef.parse(record.rule_arn)
        if ref is None:
            return Failure(
                Kind.RULE_NOT_FOUND,
                "unknown_rule",
                f"RULE_ARN {record.rule_arn or '(missing)'} names no rule",
            )
        if not record.target_arn:
            return Failure(
                Kind.TARGET_NOT_FOUND, "target_not_found", "the message has no TARGET_ARN"
            )
        if self._rules is None:
            return NoTarget("rules are not read in this run")
        answer = self._rules.targets(ref)
        if answer.failure is not None:
            return answer.failure
        matching = [t for t in answer.targets if t.get("Arn") == record.target_arn]
        if not matching:
            return Failure(
                Kind.TARGET_NOT_FOUND,
                "target_not_found",
                f"rule {ref.name} has no target {record.target_arn} any more",
            )
        if len({_settings_key(target) for target in matching}) > 1:
            # The message names the target's ARN, not its Id: which one failed is unknown.
            ids = ", ".join(str(target.get("Id")) for target in matching)
            return Failure(
                Kind.AMBIGUOUS_TARGET,
                "ambiguous_target",
                f"rule {ref.name} has several targets with this ARN and different settings, "
                "and the message does not say which failed: it stays (deliver it by hand); "
                f"give each a rule of its own so later failures name theirs (ids {ids})",
            )
        chosen = matching[0]
        return _target(record.target_arn, ref.arn, str(chosen.get("Id") or ""), chosen)


def _settings_key(target: Mapping[str, Any]) -> str:
    settings = {key: value for key, value in target.items() if key != "Id"}
    return json.dumps(settings, sort_keys=True, default=str)


def _target(
    arn: str,
    rule_arn: Optional[str] = None,
    target_id: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
) -> Target:
    kind, name = target_type(arn)
    return Target(arn, name, kind, rule_arn, target_id or None, dict(settings or {}))


def payload_for(record: DlqRecord, target: Target, event_text: str) -> Union[str, Failure]:
    """What the target would have received: the event with its input settings applied.

    Only a rule-target DLQ message carries the event as EventBridge saw it before the
    target's input settings; Lambda DLQ and destination records already hold what the
    function was sent, so it goes as it is.
    """
    if record.origin not in RULE_ORIGINS or target.rule_arn is None:
        return event_text
    ref = RuleRef.parse(target.rule_arn)
    event = record.event or {}
    time = event.get("time") if isinstance(event.get("time"), str) else ""
    context = RuleContext(target.rule_arn, ref.name if ref else "", time)
    try:
        return target_payload(event_text, event, target.settings, context)
    except TransformError as error:
        return Failure(Kind.TRANSFORM_FAILED, error.code, str(error))
