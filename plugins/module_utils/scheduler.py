# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EventBridge Scheduler dead-letter events, sent again to the API their schedule called.

The Scheduler user guide ("Configuring a schedule's dead-letter queue", section "Retrieve
the dead-letter event") shows what such a message is: TARGET_ARN is always the service
ARN `arn:aws:scheduler:::aws-sdk:SERVICE:API_ACTION` (templated targets included), and the
body is the request parameters Scheduler sent that API, e.g. for
`aws-sdk:sqs:sendMessage` `{"MessageBody": "Hello, world!", "QueueUrl": "https://..."}`.
Sending the message again therefore means calling that API with the body's parameters,
as they are, in the schedule's region.

Which actions are delivered, decided from the templated targets' APIs in botocore's
service models:

- `sqs:sendMessage` (the documented example), `sns:publish` and `sfn:startExecution`:
  every member is a string, number, boolean or a structure of those, so the JSON body
  maps onto the request one to one; one call per message, one answer.
- `lambda:invoke`, `kinesis:putRecord`, `firehose:putRecord`: the payload (`Payload`,
  `Data`, `Record.Data`) is a binary member, and how a dead-letter event writes a binary
  value in JSON (raw text, base64) is not documented; a wrong guess would deliver
  something else than the schedule sent, so they are kept. The same holds for any binary
  member elsewhere (an SQS or SNS binary message attribute).
- `eventbridge:putEvents`: one request may hold several entries, each answered apart; a
  partly failed request could not be sent again without repeating the accepted entries.
- every other universal target: not delivered (`scheduler_target_not_supported`).

The body is checked against the operation's input shape before any call (unknown or
missing members, wrong types); reasons name members, never values from the body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from .aws import AwsError, Clients, arn_region, aws_error
from .delivery import (
    ACCEPTED,
    ALREADY_DELIVERED,
    Answer,
    Delivery,
    Destination,
    Route,
    Target,
    TargetType,
)
from .failures import Failure, Kind
from .records import DlqRecord, UniversalTarget, parse_universal_target

# Reasons, as results show them.
TARGET_NOT_SUPPORTED = "scheduler_target_not_supported"
INPUT_INVALID = "scheduler_input_invalid"
BINARY_MEMBER = "scheduler_binary_member"

# A DLQ message is at most 1 MiB, so no body is larger; the API refuses what it does not
# take (SNS and Step Functions: 256 KiB) as a terminal error, and the message is kept.
MAX_BODY_BYTES = 1024 * 1024 + 1

# A body's own key is named in a reason only when it looks like a member name.
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_QUEUE_HOST = re.compile(r"^https://(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com")


@dataclass(frozen=True)
class SchedulerAction:
    """A target API this tool calls again: botocore's service and operation names, and
    the request member that names the resource (its region when the schedule gives none)."""

    service: str
    operation: str
    method: str
    resource_member: str


SUPPORTED: dict[tuple[str, str], SchedulerAction] = {
    ("sqs", "sendmessage"): SchedulerAction("sqs", "SendMessage", "send_message", "QueueUrl"),
    ("sns", "publish"): SchedulerAction("sns", "Publish", "publish", "TopicArn"),
    ("sfn", "startexecution"): SchedulerAction(
        "stepfunctions", "StartExecution", "start_execution", "stateMachineArn"
    ),
}

_BINARY = "its {} is binary, and how a dead-letter event writes binary values is not documented"
WHY_NOT: dict[tuple[str, str], str] = {
    ("lambda", "invoke"): _BINARY.format("Payload"),
    ("kinesis", "putrecord"): _BINARY.format("Data"),
    ("firehose", "putrecord"): _BINARY.format("Record.Data"),
    ("eventbridge", "putevents"): "a PutEvents request holds entries answered one by one; a"
    " partly accepted request could not be sent again without repeating the accepted ones",
}

TYPE_NAME_PREFIX = "scheduler:"


def _key(target: UniversalTarget) -> tuple[str, str]:
    return target.service.lower(), target.action.lower()


def scheduler_destination(record: DlqRecord) -> Destination:
    """Where the dead-letter event goes: its TARGET_ARN, as results name it."""
    arn = record.target_arn or ""
    universal = parse_universal_target(arn)
    name = f"{universal.service}:{universal.action}" if universal else "unknown"
    target = Target(arn, TYPE_NAME_PREFIX + name, TargetType.SCHEDULER)
    return Destination(Route.TARGET, TargetType.SCHEDULER, arn, schedule_region(record), target)


def schedule_region(record: DlqRecord) -> Optional[str]:
    """The schedule's region (SCHEDULE_ARN), else the region the body's resource names."""
    region = arn_region(record.schedule_arn or "")
    if region is not None:
        return region
    action = supported_action(record.target_arn)
    value = record.schedule_input.value if record.schedule_input is not None else None
    if action is None or not isinstance(value, Mapping):
        return None
    resource = value.get(action.resource_member)
    if not isinstance(resource, str):
        return None
    if resource.startswith("arn:"):
        return arn_region(resource)
    match = _QUEUE_HOST.match(resource)
    # The legacy https://queue.amazonaws.com/ names no region (us-east-1 by default).
    return match.group(1) if match and match.group(1) != "queue" else None


def supported_action(target_arn: Optional[str]) -> Optional[SchedulerAction]:
    target = parse_universal_target(target_arn)
    return SUPPORTED.get(_key(target)) if target is not None else None


def request_for(record: DlqRecord) -> Union[dict[str, Any], Failure]:
    """The request to send again, checked against the operation's input shape; a Failure
    saying why it cannot be sent (the action is not delivered to, the body does not fit)."""
    target = parse_universal_target(record.target_arn)
    if target is None:
        return Failure(
            Kind.TARGET_UNSUPPORTED,
            TARGET_NOT_SUPPORTED,
            "TARGET_ARN is not arn:aws:scheduler:::aws-sdk:SERVICE:ACTION, the form the"
            " Scheduler guide documents for every dead-letter event",
        )
    name = f"{target.service}:{target.action}"
    action = SUPPORTED.get(_key(target))
    if action is None:
        why = WHY_NOT.get(
            _key(target),
            "this tool calls only sqs:sendMessage, sns:publish and sfn:startExecution again",
        )
        return Failure(Kind.TARGET_UNSUPPORTED, TARGET_NOT_SUPPORTED, f"{name}: {why}")
    value = record.schedule_input.value if record.schedule_input is not None else None
    if record.schedule_input is None or not record.schedule_input.is_json:
        return Failure(
            Kind.SCHEDULER, INPUT_INVALID, f"{name}: the body is not JSON request parameters"
        )
    shape = input_shape(action)
    if isinstance(shape, Failure):
        return shape
    problem = shape_problem(value, shape, action.operation)
    if problem is not None:
        code = BINARY_MEMBER if problem.startswith("binary ") else INPUT_INVALID
        return Failure(Kind.SCHEDULER, code, f"{name}: {problem}")
    return dict(value)


@functools.cache
def _service_model(service: str) -> Any:
    import botocore.session  # the caller's botocore (AWS CLI v2 has its own)

    return botocore.session.get_session().get_service_model(service)


def input_shape(action: SchedulerAction) -> Any:
    """The operation's input shape from botocore's model, read locally (no AWS call)."""
    try:
        return _service_model(action.service).operation_model(action.operation).input_shape
    except Exception as error:  # ImportError, UnknownServiceError, OperationNotFoundError
        return Failure(
            Kind.SCHEDULER,
            "MissingServiceModel",
            f"botocore has no model of {action.service} {action.operation}: {type(error).__name__}",
        )


_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
}


def shape_problem(value: Any, shape: Any, path: str) -> Optional[str]:
    """What in `value` does not fit the botocore `shape`, naming members only (never a
    value from the body); None when it fits."""
    kind = shape.type_name
    if kind == "blob":
        return f"binary member {path}"
    if kind == "structure":
        return _structure_problem(value, shape, path)
    if kind == "list":
        if not isinstance(value, list):
            return f"{path} is not a list"
        for index, item in enumerate(value):
            problem = shape_problem(item, shape.member, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"{path} is not an object"
        for key, item in value.items():
            problem = shape_problem(item, shape.value, f"{path}.{_named(key)}")
            if problem is not None:
                return problem
        return None
    allowed = _SCALARS.get(kind)
    if allowed is None:
        return f"{path} is a {kind}, which this tool does not send"
    fits = isinstance(value, allowed) and (kind == "boolean" or not isinstance(value, bool))
    return None if fits else f"{path} is not of type {kind}"


def _structure_problem(value: Any, shape: Any, path: str) -> Optional[str]:
    if not isinstance(value, dict):
        return f"{path} is not an object"
    unknown = sorted(name for name in value if name not in shape.members)
    if unknown:
        return f"{path} has no member {', '.join(_named(name) for name in unknown[:5])}"
    missing = [name for name in shape.required_members if name not in value]
    if missing:
        return f"{path} needs {', '.join(missing)}"
    for name, item in value.items():
        problem = shape_problem(item, shape.members[name], f"{path}.{name}")
        if problem is not None:
            return problem
    return None


def _named(key: str) -> str:
    return key if _NAME.match(key) else "(a key)"


class SchedulerSender:
    """Calls the schedule's target API again, one message per call, with the body's
    request parameters, in the schedule's region (a client per region, made once)."""

    max_items = 1
    max_bytes = MAX_BODY_BYTES
    max_item_bytes = MAX_BODY_BYTES

    def __init__(self, clients: Clients, destination: Destination) -> None:
        action = supported_action(destination.arn)
        if action is None:  # the planner keeps every other action
            raise ValueError(f"no Scheduler sender for {destination.arn}")
        self._clients = clients
        self._action = action
        self.action = action.operation

    def size(self, delivery: Delivery) -> int:
        return delivery.size

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        if len(batch) != 1:
            raise ValueError(f"{self.action} sends one delivery per call, got {len(batch)}")
        return [self._send_one(batch[0])]

    def _send_one(self, delivery: Delivery) -> Answer:
        request = request_for(delivery.record)
        if isinstance(request, Failure):
            return request
        client = self._clients.client(self._action.service, schedule_region(delivery.record))
        try:
            getattr(client, self._action.method)(**request)
        except Exception as error:  # botocore raises many unrelated classes
            return self._refused(aws_error(error, self.action), "name" in request)
        return ACCEPTED

    def _refused(self, error: AwsError, named: bool) -> Answer:
        if named and error.code == "ExecutionAlreadyExists":
            # The body named the execution: a Standard workflow already ran it.
            return ALREADY_DELIVERED
        if error.code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            # The body's queue, not the DLQ: held until the queue exists, the run goes on.
            return Failure(Kind.TARGET_NOT_FOUND, error.code, error.message)
        raise error from None
