# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a message goes and how it is sent there.

A `Delivery` is one message's payload bound for one `Destination`: an event bus (the
entry is put with PutEvents) or the rule target that failed (the payload is sent with
the target service's own API). A `Sender` sends a batch of deliveries to one
destination and answers, per delivery and in order, `Accepted` or a `Failure`. It reads
every per-entry result; a whole-call error is raised as `AwsError` and the engine
decides (failures.classify) whether to retry, keep the batch or stop.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol, Union

from .aws import aws_error
from .entries import Entry
from .failures import CodeClass, Failure, Kind, entry_failure
from .records import DlqRecord


class TargetType(enum.Enum):
    EVENT_BUS = "event_bus"
    LAMBDA = "lambda"
    SQS = "sqs"
    SNS = "sns"
    STEP_FUNCTIONS = "step_functions"
    KINESIS = "kinesis"
    FIREHOSE = "firehose"
    LOGS = "logs"
    # The API an EventBridge Scheduler schedule called (its dead-letter event's TARGET_ARN).
    SCHEDULER = "scheduler"


class Route(enum.Enum):
    """How a message travels: put on a bus, or sent to its target."""

    BUS = "bus"
    TARGET = "target"


@dataclass(frozen=True)
class Target:
    """One rule target as ListTargetsByRule describes it (or as a record names it)."""

    arn: str
    type_name: str
    type: Optional[TargetType]
    rule_arn: Optional[str] = None
    target_id: Optional[str] = None
    # The target's own settings as EventBridge returns them: Input, InputPath,
    # InputTransformer, SqsParameters, KinesisParameters, RoleArn, ...
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def region(self) -> Optional[str]:
        parts = self.arn.split(":")
        return parts[3] or None if len(parts) > 3 else None


@dataclass(frozen=True)
class Destination:
    """A bus (by name or ARN) or a target; `key` groups deliveries and dedupes copies."""

    route: Route
    type: TargetType
    arn: str
    region: Optional[str] = None
    target: Optional[Target] = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        rule = self.target.rule_arn if self.target is not None else None
        return f"{self.route.value}\0{self.arn}\0{rule or ''}"

    @property
    def type_name(self) -> str:
        """The target's type as results show it (also for types not delivered to)."""
        return self.target.type_name if self.target is not None else self.type.value

    @property
    def name(self) -> str:
        """How results name it: the bus name, or the target ARN."""
        if self.type is TargetType.EVENT_BUS and ":event-bus/" in self.arn:
            return self.arn.split(":event-bus/", 1)[1]
        return self.arn


@dataclass
class Delivery:
    """One message's payload for one destination."""

    record: DlqRecord
    destination: Destination
    payload: str
    size: int
    entry: Optional[Entry] = None

    @property
    def event_id(self) -> Optional[str]:
        return self.record.event_id


@dataclass(frozen=True)
class Accepted:
    """The destination took the payload (or, `already`, had taken it before)."""

    already: bool = False


ACCEPTED = Accepted()
ALREADY_DELIVERED = Accepted(already=True)
Answer = Union[Accepted, Failure]


class Sender(Protocol):
    """Sends batches to one destination; limits say how the engine may batch."""

    action: str  # the API action, as counted in api_calls and named in IAM hints
    max_items: int
    max_bytes: int  # a request's total stays strictly below this (batching.plan_batches)
    # One delivery may be at most this large; a larger one is answered ENTRY_TOO_LARGE
    # without being sent (some APIs allow less per item than per request).
    max_item_bytes: int

    def size(self, delivery: Delivery) -> int: ...

    def send(self, batch: Sequence[Delivery]) -> list[Answer]: ...


class BusSender:
    """PutEvents: up to 10 entries, the request total below `max_bytes` (AWS formula)."""

    action = "PutEvents"
    max_items = 10

    def __init__(self, events: Any, max_bytes: int) -> None:
        self._events = events
        self.max_bytes = max_bytes
        self.max_item_bytes = max_bytes

    def size(self, delivery: Delivery) -> int:
        return delivery.size

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        entries = [delivery.entry.fields for delivery in batch if delivery.entry is not None]
        if len(entries) != len(batch):
            raise ValueError("every bus delivery carries its entry")
        try:
            response = self._events.put_events(Entries=entries)
        except Exception as error:  # botocore raises many unrelated classes
            raise aws_error(error, self.action) from None
        slots = response.get("Entries") or []
        return slot_answers(slots, len(batch), "EventId", "MissingEventId")


def slot_answers(
    slots: Sequence[Mapping[str, Any]], count: int, accepted_key: str, missing_code: str
) -> list[Answer]:
    """Answers from a batch answer with one slot per entry, in request order (PutEvents
    `Entries`, Kinesis `Records`, Firehose `RequestResponses`): a slot with `ErrorCode`
    failed, one with `accepted_key` (EventId, SequenceNumber, RecordId) was accepted.

    An answer with more or fewer slots than entries cannot be matched to them: each entry
    then has an unknown outcome (it may have been accepted), never a guessed one.
    """
    if len(slots) != count:
        unknown = Failure(
            Kind.UNKNOWN_OUTCOME,
            "UnmatchedResponse",
            f"{len(slots)} results for {count} entries",
            code_class=CodeClass.TRANSIENT,
        )
        return [unknown] * count
    return [slot_answer(slot, accepted_key, missing_code) for slot in slots]


def slot_answer(slot: Mapping[str, Any], accepted_key: str, missing_code: str) -> Answer:
    code = slot.get("ErrorCode")
    if code:
        return entry_failure(str(code), str(slot.get("ErrorMessage") or ""), 1)
    if not slot.get(accepted_key):
        # Neither accepted nor refused: the entry may have been taken, so this is no
        # reason to give up on the message.
        return Failure(
            Kind.UNKNOWN_OUTCOME,
            missing_code,
            "the answer neither accepted nor refused the entry",
            code_class=CodeClass.TRANSIENT,
        )
    return ACCEPTED
