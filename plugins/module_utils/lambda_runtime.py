# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Lambda function over the same core: settings, events, answers.

Two ways in:

- An SQS event source mapping hands the function a batch of DLQ records (lower camel case:
  `messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`,
  `eventSourceARN`). The engine settles the batch in Mode.HANDED and the function answers
  with a partial batch response naming exactly the records that were not done; the mapping
  deletes the others itself. Lambda reads an answer naming an id that is not in the batch
  as "the whole batch failed", so only ids of the batch are ever named.
- EventBridge Scheduler, a rule schedule or `{"redrive": {...}}` start a bounded run over
  the queue in the settings, the module's run, inside the time the function has left.

Settings are environment variables named after the module's options, upper-cased, and
are read and checked when the container starts, before any message is touched.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

from .aws import AwsError, Clients, ConnectionOptions, aws_error, make_clients, resolve_queue_url
from .engine import Mode, Redrive, RedriveSettings, SettingsError, error_fields
from .entries import OptionError
from .lookups import BusCheck, Lookups, RuleBook
from .options import OPTIONS, Option, record_filter, redrive_settings
from .outcomes import COUNTS
from .runner import execute

QUEUE_VARIABLE = "QUEUE"
# A record a mapping handed over this often, and still not done, goes to QUARANTINE_QUEUE
# when the DLQ has no redrive policy: without one, nothing else would ever stop it. The
# range is a redrive policy's maxReceiveCount range.
MAX_RECEIVES_VARIABLE = "MAX_RECEIVES"
DEFAULT_MAX_RECEIVES = 5
MAX_RECEIVES_RANGE = (1, 1000)
# Lambda sets these itself ("Defined runtime environment variables" in the Lambda
# developer guide) and refuses them in a function's configuration: no setting may be
# named like one.
RESERVED_VARIABLES = frozenset(
    (
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
    )
)
RESERVED_PREFIXES = ("AWS_LAMBDA_", "_")
# Receive-loop options: a batch handed over by a mapping is neither received nor bounded.
SCHEDULED_ONLY = frozenset(
    (
        "max_messages",
        "max_seconds",
        "concurrency",
        "wait_seconds",
        "empty_receives",
        "visibility_timeout",
    )
)
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
SQS_EVENT_SOURCE = "aws:sqs"
SCHEDULED_EVENT = "Scheduled Event"
SCHEDULE_SOURCES = frozenset(("aws.events", "aws.scheduler"))
OVERRIDES_KEY = "redrive"
# A scheduled run stops receiving this long before the function's timeout: the batch in
# flight, the final delete sweep and making the rest visible need the time.
MIN_MARGIN_SECONDS = 10.0
MARGIN_FRACTION = 0.1
# A batch stops sending this long before the function's timeout (or a tenth of the time
# left, if longer): a call in flight, the quarantine copies and the log line need the time,
# and a batch cut short by Lambda would fail whole, delivered records included.
BATCH_MIN_MARGIN_SECONDS = 5.0
# Bus and rule answers are kept this long across the batches of a warm container: a rule
# or target fixed in the meantime is seen within it.
LOOKUP_MAX_AGE_SECONDS = 300.0
# Option values are echoed in errors only this far (none of them is a secret).
ECHO_CHARS = 80
# Checked per option (values of any option except queue names) before anything else.
_PLACEHOLDER_QUEUE = "settings-check"


class LambdaSettingsError(ValueError):
    """Settings (environment variables, a scheduled run's overrides) that cannot work."""


class UnknownEvent(ValueError):
    """An event that is neither an SQS batch nor a scheduled run."""


class UnsafeSetup(RuntimeError):
    """A deployment the function refuses to work in: it would lose records or hand the
    same poison record back forever."""


class RedriveFailed(RuntimeError):
    """A scheduled run that ended on an AWS error (what it did is in the log line)."""


# ---- settings ------------------------------------------------------------------------


def variable_name(option_name: str) -> str:
    return option_name.upper()


OPTION_BY_VARIABLE: dict[str, Option] = {variable_name(option.name): option for option in OPTIONS}
_OPTION_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}

_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list": "a JSON array of strings",
    "json": "a JSON object",
    "raw": "a JSON object",
}


def _echo(text: str) -> str:
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "...")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "float": lambda value: _is_number(value) and math.isfinite(value),
    "list": lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
    "json": lambda value: isinstance(value, dict),
    "raw": lambda value: isinstance(value, dict),
}
# Options whose environment variable holds JSON text (the event pattern is "raw" to
# Ansible: a mapping or JSON text).
JSON_TYPES = frozenset(("list", "json", "raw"))


def checked_value(option: Option, value: Any, where: str) -> Any:
    """`value` as the option takes it, or LambdaSettingsError naming `where`."""
    if not _TYPE_CHECKS[option.type](value):
        raise LambdaSettingsError(
            f"{where} must be {_EXPECTED[option.type]}, got {_type_name(value)}"
        )
    if option.choices and value not in option.choices:
        raise LambdaSettingsError(
            f"{where} must be one of {', '.join(option.choices)}, got {_echo(str(value))}"
        )
    return float(value) if option.type == "float" else value


def parse_variable(option: Option, text: str) -> Any:
    """The value of the option's environment variable, from its text."""
    name = variable_name(option.name)
    kind = option.type
    value: Any = text
    if kind == "bool":
        word = text.lower()
        if word not in ("true", "false"):
            raise LambdaSettingsError(f"{name} must be true or false, got {_echo(text)}")
        value = word == "true"
    elif kind == "int":
        try:
            value = int(text, 10)
        except ValueError:
            raise LambdaSettingsError(f"{name} must be an integer, got {_echo(text)}") from None
    elif kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise LambdaSettingsError(f"{name} must be a number, got {_echo(text)}") from None
    elif kind in JSON_TYPES:
        value = _json_value(text, kind, name)
    return checked_value(option, value, name)


def _json_value(text: str, kind: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise LambdaSettingsError(
            f"{where} must be {_EXPECTED[kind]}: not JSON ({error})"
        ) from None


def _validated(params: Mapping[str, Any], label: Callable[[str], str]) -> None:
    """Each value alone first, so an error names its variable; then all together."""
    for name, value in params.items():
        try:
            redrive_settings({name: value}, _PLACEHOLDER_QUEUE).validate()
        except (SettingsError, OptionError) as error:
            raise LambdaSettingsError(f"{label(name)}: {error}") from None
    try:
        redrive_settings(params, _PLACEHOLDER_QUEUE).validate()
    except (SettingsError, OptionError) as error:
        raise LambdaSettingsError(f"settings: {error}") from None


@dataclass(frozen=True)
class FunctionSettings:
    """The option values the environment sets (unset ones take the module's defaults)."""

    params: Mapping[str, Any] = field(default_factory=dict)
    queue: Optional[str] = None
    max_receives: int = DEFAULT_MAX_RECEIVES

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> FunctionSettings:
        """Read and check every setting; an empty variable counts as not set (CloudFormation
        passes "" for a parameter left empty)."""
        params: dict[str, Any] = {}
        for name, option in OPTION_BY_VARIABLE.items():
            text = (environ.get(name) or "").strip()
            if text:
                params[option.name] = parse_variable(option, text)
        _validated(params, variable_name)
        queue = (environ.get(QUEUE_VARIABLE) or "").strip() or None
        max_receives = parse_max_receives((environ.get(MAX_RECEIVES_VARIABLE) or "").strip())
        return cls(params, queue, max_receives)

    def with_overrides(self, overrides: Mapping[str, Any]) -> FunctionSettings:
        """A scheduled run's `{"redrive": {...}}`: option names as the module has them (and
        `queue`); null takes an option back to the module's default."""
        params = dict(self.params)
        queue = self.queue
        for name, value in overrides.items():
            where = f"{OVERRIDES_KEY}.{name}"
            if name == "queue":
                if not isinstance(value, str) or not value:
                    raise LambdaSettingsError(f"{where} must be a queue name, URL or ARN")
                queue = value
            elif name not in _OPTION_BY_NAME:
                raise LambdaSettingsError(f"{where} is not an option of the redrive")
            elif value is None:
                params.pop(name, None)
            else:
                option = _OPTION_BY_NAME[name]
                if option.type == "raw" and isinstance(value, str):  # a pattern as JSON text
                    value = _json_value(value, option.type, where)
                params[name] = checked_value(option, value, where)
        _validated(params, lambda name: f"{OVERRIDES_KEY}.{name}")
        return FunctionSettings(params, queue, self.max_receives)

    @property
    def selects_everything(self) -> bool:
        return record_filter(self.params).is_empty


def parse_max_receives(text: str) -> int:
    """MAX_RECEIVES from its text (empty: the default)."""
    if not text:
        return DEFAULT_MAX_RECEIVES
    try:
        value = int(text, 10)
    except ValueError:
        raise LambdaSettingsError(
            f"{MAX_RECEIVES_VARIABLE} must be an integer, got {_echo(text)}"
        ) from None
    low, high = MAX_RECEIVES_RANGE
    if not low <= value <= high:
        raise LambdaSettingsError(
            f"{MAX_RECEIVES_VARIABLE} must be between {low} and {high}, got {value}"
        )
    return value


def reserved_collisions() -> list[str]:
    """Setting names Lambda keeps for itself (none, or the function could not be configured)."""
    names = [QUEUE_VARIABLE, MAX_RECEIVES_VARIABLE, *OPTION_BY_VARIABLE]
    return [
        name for name in names if name in RESERVED_VARIABLES or name.startswith(RESERVED_PREFIXES)
    ]


# ---- events --------------------------------------------------------------------------


@dataclass(frozen=True)
class SqsBatch:
    """The records an event source mapping handed over, all from one queue."""

    queue_arn: str
    records: tuple[Mapping[str, Any], ...]

    @property
    def message_ids(self) -> list[str]:
        return [str(record["messageId"]) for record in self.records]


@dataclass(frozen=True)
class ScheduledRun:
    """A bounded run over the configured queue, with the event's overrides."""

    trigger: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


def read_event(event: Any) -> Union[SqsBatch, ScheduledRun]:
    if isinstance(event, Mapping) and "Records" in event:
        return _sqs_batch(event["Records"])
    if isinstance(event, Mapping) and set(event) == {OVERRIDES_KEY}:
        overrides = event[OVERRIDES_KEY]
        if not isinstance(overrides, Mapping):
            raise UnknownEvent(f'"{OVERRIDES_KEY}" must hold an object of option overrides')
        return ScheduledRun("invoke", dict(overrides))
    if (
        isinstance(event, Mapping)
        and event.get("detail-type") == SCHEDULED_EVENT
        and event.get("source") in SCHEDULE_SOURCES
    ):
        return ScheduledRun(str(event["source"]))
    keys = sorted(str(key) for key in event) if isinstance(event, Mapping) else []
    raise UnknownEvent(
        "expected an SQS batch from an event source mapping, a Scheduled Event from "
        f'EventBridge Scheduler or a schedule rule, or {{"{OVERRIDES_KEY}": {{...}}}}; '
        f"got {_type_name(event)} with keys {keys}"
    )


def _sqs_batch(records: Any) -> SqsBatch:
    if not isinstance(records, list):
        raise UnknownEvent("Records must be a list")
    arns = set()
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(record, Mapping) or record.get("eventSource") != SQS_EVENT_SOURCE:
            raise UnknownEvent(f"{where} is not an SQS record (eventSource {SQS_EVENT_SOURCE})")
        if not isinstance(record.get("messageId"), str) or not record["messageId"]:
            raise UnknownEvent(f"{where} has no messageId")
        if not isinstance(record.get("body"), str):
            raise UnknownEvent(f"{where} has no body text")
        arns.add(record.get("eventSourceARN"))
    if len(arns) > 1 or not all(isinstance(arn, str) and arn for arn in arns):
        raise UnknownEvent("the records do not all name one eventSourceARN")
    return SqsBatch(next(iter(arns)) if arns else "", tuple(records))


def receive_message_shape(record: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping's record as ReceiveMessage returns the message (what the engine takes)."""
    attributes = record.get("attributes") or {}
    message_attributes = record.get("messageAttributes") or {}
    return {
        "MessageId": record["messageId"],
        "ReceiptHandle": str(record.get("receiptHandle") or ""),
        "Body": record["body"],
        "Attributes": {str(name): str(value) for name, value in attributes.items()},
        "MessageAttributes": {
            str(name): _message_attribute(str(name), value)
            for name, value in message_attributes.items()
        },
    }


def _message_attribute(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise UnknownEvent(f"message attribute {name} is not an object")
    converted: dict[str, Any] = {"DataType": str(value.get("dataType") or "String")}
    if value.get("stringValue") is not None:
        converted["StringValue"] = str(value["stringValue"])
    if value.get("binaryValue") is not None:
        # The mapping carries binary values as base64 text; ReceiveMessage (and so the
        # quarantine copy, sent with SendMessageBatch) has the bytes.
        try:
            converted["BinaryValue"] = base64.b64decode(str(value["binaryValue"]), validate=True)
        except (binascii.Error, ValueError):
            raise UnknownEvent(
                f"message attribute {name} has a binaryValue that is not base64"
            ) from None
    return converted


def partial_batch_response(batch: SqsBatch, not_done: Sequence[str]) -> dict[str, Any]:
    """`{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`: each record not done,
    once, in batch order. An id the batch does not hold would make Lambda fail the whole
    batch, and a record left out would be deleted: neither is ever answered."""
    pending = set(not_done)
    strays = pending.difference(batch.message_ids)
    if strays:
        raise ValueError(f"{len(strays)} message id(s) not done are not in the batch")
    failures = []
    named: set[str] = set()
    for message_id in batch.message_ids:
        if message_id in pending and message_id not in named:
            named.add(message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


# ---- the queue a mapping reads, checked once per container ----------------------------


class ItemFailureReporting(enum.Enum):
    ENABLED = "enabled"  # every mapping from this queue to this function reports them
    MISSING = "missing"  # a mapping would take a partial answer for a full success
    UNKNOWN = "unknown"  # not readable (no lambda:ListEventSourceMappings, or no mapping)


@dataclass(frozen=True)
class BatchQueue:
    """What the cold start found out about a queue that hands the function batches."""

    arn: str
    url: str
    quarantine_url: Optional[str]
    dead_letter_target: Optional[str]  # the redrive policy's deadLetterTargetArn
    item_failures: ItemFailureReporting
    # Set when only the function can end a record's round trips (quarantine, no policy).
    max_receives: Optional[int] = None

    def log_fields(self) -> dict[str, Any]:
        return {
            "quarantine": self.quarantine_url is not None,
            "redrive_policy": self.dead_letter_target is not None,
            "report_batch_item_failures": self.item_failures.value,
            "quarantine_after_receives": self.max_receives,
        }


def dead_letter_target(sqs: Any, queue_url: str) -> Optional[str]:
    try:
        answer = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    except Exception as error:  # botocore raises many unrelated classes
        raise aws_error(error, "GetQueueAttributes") from None
    text = (answer.get("Attributes") or {}).get("RedrivePolicy")
    try:
        policy = json.loads(text) if text else None
    except ValueError:
        return None
    target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    return str(target) if target else None


def _queue_arn(sqs: Any, queue_url: str) -> str:
    try:
        answer = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    except Exception as error:  # botocore raises many unrelated classes
        raise aws_error(error, "GetQueueAttributes") from None
    return str((answer.get("Attributes") or {}).get("QueueArn", ""))


def _function_of(function_arn: str) -> str:
    """arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] -> NAME."""
    parts = function_arn.split(":")
    return parts[6] if len(parts) > 6 and parts[5] == "function" else function_arn


def item_failure_reporting(
    lambda_client: Callable[[], Any], queue_arn: str, function_name: Optional[str]
) -> ItemFailureReporting:
    """Whether the mappings from this queue to this function read partial batch responses.
    Without ReportBatchItemFailures a mapping deletes the whole batch when the function
    returns, records it named as failed included."""
    if not function_name:
        return ItemFailureReporting.UNKNOWN
    mappings: list[Mapping[str, Any]] = []
    request: dict[str, Any] = {"EventSourceArn": queue_arn}
    try:
        client = lambda_client()
        while True:
            answer = client.list_event_source_mappings(**request)
            mappings.extend(answer.get("EventSourceMappings") or [])
            if not answer.get("NextMarker"):
                break
            request["Marker"] = answer["NextMarker"]
    except Exception:  # a missing permission must not stop the function: it is a check
        return ItemFailureReporting.UNKNOWN
    mine = [m for m in mappings if _function_of(str(m.get("FunctionArn", ""))) == function_name]
    if not mine:
        return ItemFailureReporting.UNKNOWN
    reporting = all(
        REPORT_BATCH_ITEM_FAILURES in (mapping.get("FunctionResponseTypes") or [])
        for mapping in mine
    )
    return ItemFailureReporting.ENABLED if reporting else ItemFailureReporting.MISSING


def check_batch_queue(
    clients: Clients, settings: FunctionSettings, queue_arn: str, function_name: Optional[str]
) -> BatchQueue:
    """Resolve the mapping's queue and refuse a deployment that would loop or lose records."""
    url = resolve_queue_url(clients.sqs, queue_arn)
    if settings.queue:
        configured = resolve_queue_url(clients.sqs, settings.queue)
        if configured != url and _queue_arn(clients.sqs, configured) != queue_arn:
            raise UnsafeSetup(
                f"{QUEUE_VARIABLE} names {settings.queue} but the batch comes from {queue_arn}: "
                "map the function to the queue it is configured for, or unset "
                f"{QUEUE_VARIABLE}"
            )
    quarantine = settings.params.get("quarantine_queue")
    quarantine_url = resolve_queue_url(clients.sqs, quarantine) if quarantine else None
    if quarantine_url == url:
        raise UnsafeSetup("QUARANTINE_QUEUE must not be the queue the mapping reads")
    target = dead_letter_target(clients.sqs, url)
    if quarantine_url is None and target is None:
        raise UnsafeSetup(
            f"{queue_arn} has no redrive policy and QUARANTINE_QUEUE is not set: a record "
            "that can never be redriven would be handed back to the function forever. Set "
            "QUARANTINE_QUEUE, or give the queue a redrive policy (maxReceiveCount)"
        )
    if target is None and not settings.selects_everything:
        raise UnsafeSetup(
            f"{queue_arn} has no redrive policy and filters are set: records the filters "
            "leave out are neither redriven nor quarantined and would come back forever. "
            "Give the queue a redrive policy, or remove the filters"
        )
    reporting = item_failure_reporting(lambda: clients.client("lambda"), queue_arn, function_name)
    if reporting is ItemFailureReporting.MISSING:
        raise UnsafeSetup(
            f"the event source mapping from {queue_arn} does not have FunctionResponseTypes "
            f"[{REPORT_BATCH_ITEM_FAILURES}]: it would delete records the function reports "
            "as not done. Enable it on the mapping"
        )
    # With a redrive policy SQS moves a record after its maxReceiveCount; without one, only
    # the quarantine does.
    max_receives = settings.max_receives if target is None else None
    return BatchQueue(queue_arn, url, quarantine_url, target, reporting, max_receives)


# ---- what stays warm between invocations ----------------------------------------------


class SharedLookups:
    """Bus and rule answers kept across the batches a warm container settles, renewed
    after `max_age` seconds. Calls are counted in the run that makes them."""

    def __init__(
        self,
        clients: Clients,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = LOOKUP_MAX_AGE_SECONDS,
    ) -> None:
        self._clients = clients
        self._clock = clock
        self._max_age = max_age
        self._count: Callable[[str], None] = _count_nothing
        self._lookups: Optional[Lookups] = None
        self._made_at = 0.0

    def current(self, settings: RedriveSettings) -> Lookups:
        now = self._clock()
        if self._lookups is None or now - self._made_at >= self._max_age:
            self._lookups = Lookups(
                BusCheck(self._events, self._counted) if settings.check_buses else None,
                RuleBook(self._events, self._counted) if settings.check_rules else None,
            )
            self._made_at = now
        return self._lookups

    def count_calls_to(self, count: Callable[[str], None]) -> None:
        self._count = count

    def _counted(self, action: str) -> None:
        self._count(action)

    def _events(self, region: Optional[str]) -> Any:
        return self._clients.client("events", region)


def _count_nothing(_action: str) -> None:
    return None


def run_seconds(
    remaining_ms: Optional[int], wait_seconds: int, configured: Optional[float]
) -> float:
    """How long a scheduled run may receive: inside the time the function has left, less
    a margin for the batch in flight, the final delete sweep and the release."""
    if remaining_ms is None:
        if configured is None:
            raise LambdaSettingsError(
                "the context gives no remaining time and MAX_SECONDS is not set"
            )
        return configured
    remaining = remaining_ms / 1000.0
    margin = max(MIN_MARGIN_SECONDS, wait_seconds + 5.0, remaining * MARGIN_FRACTION)
    budget = remaining - margin
    if configured is not None:
        budget = min(budget, configured)
    if budget < 1:
        raise UnsafeSetup(
            f"the function has {remaining:.1f} s left, less than a {margin:.0f} s margin and "
            "1 s of work: raise the function's timeout"
        )
    return round(budget, 3)


def batch_seconds(remaining_ms: Optional[int]) -> Optional[float]:
    """How long a batch may send: the time the function has left, less a margin for a call
    in flight, the quarantine copies and the answer. None: no context, no bound."""
    if remaining_ms is None:
        return None
    remaining = remaining_ms / 1000.0
    margin = max(BATCH_MIN_MARGIN_SECONDS, remaining * MARGIN_FRACTION)
    budget = remaining - margin
    if budget < 1:
        raise UnsafeSetup(
            f"the function has {remaining:.1f} s left, less than a {margin:.0f} s margin and "
            "1 s of work: raise the function's timeout"
        )
    return round(budget, 3)


def _remaining_ms(context: Any) -> Optional[int]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else None


def write_log_line(record: Mapping[str, Any]) -> None:
    """One JSON line on stdout, which Lambda sends to CloudWatch Logs."""
    sys.stdout.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def default_clients(settings: FunctionSettings) -> Clients:
    """Clients as any Lambda function has them: the execution role's credentials and
    AWS_REGION from the runtime (and AWS_ENDPOINT_URL, which boto3 reads, where set)."""
    concurrency = int(settings.params.get("concurrency") or 8)
    return make_clients(ConnectionOptions(), pool_size=2 * concurrency + 2)


class Function:
    """One per container: the settings read at start, the clients, what the cold start
    checked about each queue and the bus and rule answers, kept between invocations."""

    def __init__(
        self,
        settings: FunctionSettings,
        make_clients_for: Callable[[FunctionSettings], Clients] = default_clients,
        log: Callable[[Mapping[str, Any]], None] = write_log_line,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._make_clients = make_clients_for
        self._log = log
        self._clock = clock
        self._clients: Optional[Clients] = None
        self._lookups: Optional[SharedLookups] = None
        self._queues: dict[str, BatchQueue] = {}
        # Queues whose cold-start check is not yet in a log line: the next batch's line has it.
        self._unlogged_checks: set[str] = set()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Function:
        return cls(FunctionSettings.from_environment(environ))

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = self._make_clients(self.settings)
        return self._clients

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        started = self._clock()
        try:
            work = read_event(event)
            if isinstance(work, SqsBatch):
                return self._settle(work, context, started)
            return self._run(work, context, started)
        except RedriveFailed:  # the run's own line says what it did and why it failed
            raise
        except Exception as error:  # logged, then Lambda reports it and the batch stays
            self._log(_refusal(error, context))
            raise

    # ---- event source mapping --------------------------------------------------------

    def _batch_queue(self, queue_arn: str, context: Any) -> BatchQueue:
        # Only a passing check is kept: a fixed deployment is seen on the next batch.
        if queue_arn not in self._queues:
            checked = check_batch_queue(
                self.clients, self.settings, queue_arn, getattr(context, "function_name", None)
            )
            self._queues[queue_arn] = checked
            self._unlogged_checks.add(queue_arn)
        return self._queues[queue_arn]

    def _settle(self, batch: SqsBatch, context: Any, started: float) -> dict[str, Any]:
        if not batch.records:
            self._log(_summary("batch", "", {}, context, started, self._clock(), records=0))
            return {"batchItemFailures": []}
        queue = self._batch_queue(batch.queue_arn, context)
        # Read after the checks, which took some of it; MAX_SECONDS is for scheduled runs.
        deadline = batch_seconds(_remaining_ms(context))
        settings = replace(
            redrive_settings(self.settings.params, queue.url, queue.quarantine_url),
            max_seconds=deadline,
            max_receives=queue.max_receives,
        )
        if self._lookups is None:
            self._lookups = SharedLookups(self.clients, self._clock)
        engine = Redrive(
            self.clients, settings, mode=Mode.HANDED, lookups=self._lookups.current(settings)
        )
        self._lookups.count_calls_to(engine.tally.call)
        result = engine.settle_batch([receive_message_shape(r) for r in batch.records])
        response = partial_batch_response(batch, result["not_done"])
        line = _summary(
            "batch",
            queue.arn,
            result,
            context,
            started,
            self._clock(),
            records=len(batch.records),
            batch_item_failures=len(response["batchItemFailures"]),
            max_seconds=deadline,
        )
        if queue.arn in self._unlogged_checks:
            line["cold_start"] = queue.log_fields()
        self._log(line)
        self._unlogged_checks.discard(queue.arn)
        return response

    # ---- scheduled runs --------------------------------------------------------------

    def _run(self, run: ScheduledRun, context: Any, started: float) -> dict[str, Any]:
        settings = self.settings.with_overrides(run.overrides)
        if not settings.queue:
            raise LambdaSettingsError(
                f"{QUEUE_VARIABLE} is not set: a scheduled run needs the queue to drain "
                f'(or "queue" in {{"{OVERRIDES_KEY}": {{...}}}})'
            )
        params = dict(settings.params)
        params["queue"] = settings.queue
        wait_seconds = int(params.get("wait_seconds") or _OPTION_BY_NAME["wait_seconds"].default)
        params["max_seconds"] = run_seconds(
            _remaining_ms(context), wait_seconds, params.get("max_seconds")
        )
        result = execute(self.clients, params)
        self._log(
            _summary(
                "scheduled",
                str(result.get("queue_url") or settings.queue),
                result,
                context,
                started,
                self._clock(),
                trigger=run.trigger,
                max_seconds=params["max_seconds"],
            )
        )
        if "error" in result:
            raise RedriveFailed(str(result["error"].get("message") or result["error"]))
        return result


def _queue_label(queue: str) -> str:
    return queue.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _summary(
    mode: str,
    queue: str,
    result: Mapping[str, Any],
    context: Any,
    started: float,
    now: float,
    **extra: Any,
) -> dict[str, Any]:
    """The invocation's log line: counts, calls, how it ended; no bodies, no ids."""
    line: dict[str, Any] = {
        "redrive": mode,
        "queue": _queue_label(queue),
        "request_id": getattr(context, "aws_request_id", None),
        "stopped_by": result.get("stopped_by"),
        "api_calls": result.get("api_calls", {}),
        "by_error_code": result.get("by_error_code", {}),
        "seconds": round(now - started, 3),
        **{name: result.get(name, 0) for name in COUNTS},
        **extra,
    }
    if "error" in result:
        line["error"] = result["error"]
    return line


REFUSALS = (
    UnknownEvent,
    UnsafeSetup,
    LambdaSettingsError,
    RedriveFailed,
    SettingsError,
    OptionError,
)


def _refusal(error: Exception, context: Any) -> dict[str, Any]:
    """Why the invocation failed. Errors of this code and AWS errors say what to fix; of
    anything else only the type is logged, as its text could quote a message."""
    if isinstance(error, AwsError):
        reason: Any = error_fields(error)
    elif isinstance(error, REFUSALS):
        reason = {"code": type(error).__name__, "message": str(error)}
    else:
        reason = {"code": type(error).__name__}
    return {
        "redrive": "refused" if isinstance(error, (AwsError, *REFUSALS)) else "failed",
        "request_id": getattr(context, "aws_request_id", None),
        "error": reason,
    }


# ---- documentation -----------------------------------------------------------------


def _describe_type(option: Option) -> str:
    if option.choices:
        return " \\| ".join(f"`{choice}`" for choice in option.choices)
    return {
        "str": "text",
        "int": "integer",
        "float": "number",
        "bool": "`true` \\| `false`",
        "list": "JSON array of strings",
        "json": "JSON object",
        "raw": "JSON object",
    }[option.type]


def _describe_default(option: Option) -> str:
    if option.default is None:
        return ""
    if isinstance(option.default, bool):
        return f"`{str(option.default).lower()}`"
    return f"`{option.default}`"


def settings_table() -> str:
    """The README's table of the function's settings, made from the module's options."""
    rows = [
        "| variable | value | default | modes | what it sets |",
        "| --- | --- | --- | --- | --- |",
        f"| `{QUEUE_VARIABLE}` | queue name, URL or ARN |  | both | The DLQ a scheduled run "
        "drains; with a mapping, if set, it must be the mapping's queue. |",
        f"| `{MAX_RECEIVES_VARIABLE}` | integer ({MAX_RECEIVES_RANGE[0]} to "
        f"{MAX_RECEIVES_RANGE[1]}) | `{DEFAULT_MAX_RECEIVES}` | mapping | With "
        "`QUARANTINE_QUEUE` and no redrive policy on the DLQ: a record whose "
        "ApproximateReceiveCount has reached this and that is still not done goes to the "
        "quarantine queue with its reason, whatever kept it. |",
    ]
    for option in OPTIONS:
        modes = "scheduled" if option.name in SCHEDULED_ONLY else "both"
        text = option.help.replace("|", "\\|")
        rows.append(
            f"| `{variable_name(option.name)}` | {_describe_type(option)} | "
            f"{_describe_default(option)} | {modes} | {text} |"
        )
    return "\n".join(rows) + "\n"


__all__ = [
    "Function",
    "FunctionSettings",
    "LambdaSettingsError",
    "RedriveFailed",
    "UnknownEvent",
    "UnsafeSetup",
    "partial_batch_response",
    "read_event",
    "receive_message_shape",
    "settings_table",
]
