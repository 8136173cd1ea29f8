# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse one SQS dead-letter message into a DlqRecord.

What reaches a DLQ behind EventBridge, and how each is told apart:

- the rule-target DLQ: the event as EventBridge saw it, with RULE_ARN/TARGET_ARN/...
  attributes (`eventbridge_dlq`);
- the Lambda asynchronous-invocation DLQ: the event, with RequestID/ErrorCode/ErrorMessage
  (`lambda_dlq`);
- the Lambda on-failure destination: the event wrapped as `requestPayload`
  (`lambda_destination`);
- the encrypted-event wrapper EventBridge sends instead of the event when a bus encrypted
  with a customer managed KMS key cannot encrypt or decrypt it (`encrypted_event`): source
  `aws.events`, detail-type `Encrypted Events`, a new id, and a `detail` holding
  `event-bus-arn`, `rule-arn`, `kms-key-arn` and the AWS Encryption SDK message
  `encrypted-payload` (pages "Using dead-letter queues to capture encrypted event errors"
  and "Decrypting events in EventBridge dead-letter queues" of the EventBridge user guide);
- an EventBridge Scheduler dead-letter event (`scheduler`), told by its SCHEDULE_ARN or
  EXECUTION_ID attribute: the request parameters of the API the schedule called (see
  `_apply_scheduler`).

Other services' records that land in the same queues (SNS notifications, EventBridge Pipes
and Lambda stream failure records, S3 event notifications, any other JSON object) are
recognised and kept with a reason naming what they look like: they are not events, and
putting them on a bus would deliver nonsense and delete the message.

Parsing never raises: a body we cannot turn into an event yields a record with `problem`
set to a specific reason and `problem_kind` saying which sort of reason it is, so the
message is kept, never dropped.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

ORIGIN_EVENTBRIDGE = "eventbridge_dlq"
ORIGIN_LAMBDA_DLQ = "lambda_dlq"
ORIGIN_LAMBDA_DESTINATION = "lambda_destination"
ORIGIN_ENCRYPTED_EVENT = "encrypted_event"
ORIGIN_SCHEDULER = "scheduler"
ORIGIN_UNKNOWN = "unknown"

# Reasons for records that are not events: each names what the message is.
ENCRYPTED_EVENT = "encrypted_event"
SCHEDULER_DEAD_LETTER = "scheduler_dead_letter"
SNS_NOTIFICATION = "sns_notification"
S3_EVENT_NOTIFICATION = "s3_event_notification"
PIPES_FAILURE_RECORD = "pipes_failure_record"
LAMBDA_STREAM_FAILURE_RECORD = "lambda_stream_failure_record"
NOT_AN_EVENT = "not_an_event"

# Why a Scheduler dead-letter event's input cannot be delivered as it is.
SCHEDULER_INPUT_TRUNCATED = "scheduler_input_truncated"
SCHEDULER_INPUT_UNCONFIRMED = "scheduler_input_unconfirmed"

ENCRYPTED_SOURCE = "aws.events"
ENCRYPTED_DETAIL_TYPE = "Encrypted Events"
_EVENT_KEYS = ("source", "detail-type", "detail")
_SNS_TYPES = frozenset(("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"))
_STREAM_BATCH_KEYS = ("KinesisBatchInfo", "DDBStreamBatchInfo")

_MAX_ARN_CHARS = 2048
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class ProblemKind(enum.Enum):
    """What sort of problem keeps a record from being put; values match failure kinds."""

    BAD_RECORD = "bad_record"  # meant to be an event, but malformed
    FOREIGN_RECORD = "foreign_record"  # another service's record, not an event at all
    ENCRYPTED = "encrypted_event"  # the event is inside, encrypted with a KMS key
    SCHEDULER = "scheduler_dead_letter"  # a schedule's input, for the schedule's target


class BodyError(ValueError):
    """The body cannot be read as an event; `reason` is the record's problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RawObject:
    """A JSON object with each top-level value parsed and its source text kept.

    Keeping the text lets `Detail` be sent exactly as received: same key
    order, same number spelling, same non-ASCII text.
    """

    values: dict[str, Any]
    texts: dict[str, str]
    # The object's own text, as received (what a target gets when nothing transforms it).
    text: str = ""


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def parse_raw_object(text: str) -> RawObject:
    """Parse a JSON object, keeping the raw text of each top-level value."""
    index = _skip_ws(text, 0)
    if index >= len(text) or text[index] != "{":
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            raise BodyError("invalid_json") from None
        raise BodyError("not_an_object")
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    try:
        index = _skip_ws(text, index + 1)
        if text[index] == "}":
            index += 1
        else:
            while True:
                if text[index] != '"':
                    raise ValueError("expected key")
                key, index = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
                index = _skip_ws(text, index)
                if text[index] != ":":
                    raise ValueError("expected colon")
                start = _skip_ws(text, index + 1)
                value, index = _DECODER.raw_decode(text, start)
                values[key] = value
                texts[key] = text[start:index]
                index = _skip_ws(text, index)
                if text[index] == "}":
                    index += 1
                    break
                if text[index] != ",":
                    raise ValueError("expected comma")
                index = _skip_ws(text, index + 1)
        if _skip_ws(text, index) != len(text):
            raise ValueError("trailing data")
    except (ValueError, IndexError, RecursionError):
        raise BodyError("invalid_json") from None
    return RawObject(values, texts, text.strip(_WHITESPACE))


@dataclass(frozen=True)
class ScheduleInput:
    """The request a schedule sent its target API, as the dead-letter event carries it.

    `text` is the body as received; `value` its JSON value when `is_json` (the request
    parameters; a body that is not JSON cannot be sent again).
    """

    text: str
    value: Any = None
    is_json: bool = False


@dataclass(frozen=True)
class UniversalTarget:
    """A dead-letter event's TARGET_ARN `arn:aws:scheduler:::aws-sdk:SERVICE:ACTION`."""

    service: str
    action: str


@dataclass
class DlqRecord:
    """One DLQ message: the event it carries, where it came from, why it failed."""

    message_id: str
    receipt_handle: str
    body: str
    origin: str = ORIGIN_UNKNOWN
    event: Optional[dict[str, Any]] = None
    event_text: Optional[str] = None
    detail_text: Optional[str] = None
    rule_arn: Optional[str] = None
    target_arn: Optional[str] = None
    error_code: Optional[str] = None
    error_message: Optional[str] = None
    exhausted_retry_condition: Optional[str] = None
    retry_attempts: Optional[int] = None
    request_id: Optional[str] = None
    receive_count: int = 0
    sent_timestamp_ms: Optional[int] = None
    message_attributes: dict[str, Any] = field(default_factory=dict)
    problem: Optional[str] = None
    problem_kind: Optional[ProblemKind] = None
    # One line for people: what the message is and what would let it go back. Never body text.
    hint: Optional[str] = None
    # Encrypted-event wrapper (origin encrypted_event).
    event_bus_arn: Optional[str] = None
    kms_key_arn: Optional[str] = None
    encrypted_payload: Optional[str] = None
    decrypted: bool = False
    # Scheduler dead-letter event (origin scheduler).
    schedule_arn: Optional[str] = None
    execution_id: Optional[str] = None
    scheduled_time: Optional[str] = None
    payload_truncated: Optional[bool] = None
    schedule_input: Optional[ScheduleInput] = None

    @property
    def event_id(self) -> Optional[str]:
        if self.event is None:
            return None
        value = self.event.get("id")
        return value if isinstance(value, str) else None

    @property
    def dedupe_key(self) -> Optional[str]:
        """What makes copies of one message the same: the event id, or for a Scheduler
        dead-letter event its EXECUTION_ID (one per schedule invocation)."""
        if self.origin == ORIGIN_SCHEDULER and self.event is None:
            return self.execution_id or None
        return self.event_id

    @property
    def redrivable(self) -> bool:
        return self.problem is None

    @property
    def event_bus_name(self) -> Optional[str]:
        """The bus an encrypted event belongs to, from the wrapper's `event-bus-arn`."""
        return bus_name_from_arn(self.event_bus_arn)

    @property
    def schedule_input_problem(self) -> Optional[str]:
        """Why a Scheduler dead-letter event's input cannot go to the target, or None."""
        if self.origin != ORIGIN_SCHEDULER or self.schedule_input is not None:
            return None
        if self.payload_truncated:
            return SCHEDULER_INPUT_TRUNCATED
        return SCHEDULER_INPUT_UNCONFIRMED

    @property
    def universal_target(self) -> Optional[UniversalTarget]:
        return parse_universal_target(self.target_arn) if self.origin == ORIGIN_SCHEDULER else None

    def attributes(self) -> dict[str, Any]:
        """The failure context as plain data, for results and the lookup."""
        names = (
            "rule_arn",
            "target_arn",
            "error_code",
            "error_message",
            "exhausted_retry_condition",
            "retry_attempts",
            "request_id",
            "event_bus_arn",
            "kms_key_arn",
            "schedule_arn",
            "execution_id",
            "scheduled_time",
            "payload_truncated",
        )
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def bus_name_from_arn(arn: Optional[str]) -> Optional[str]:
    """`arn:aws:events:R:A:event-bus/NAME` → NAME; partner bus names keep their slashes."""
    if not arn or ":event-bus/" not in arn:
        return None
    name = arn.split(":event-bus/", 1)[1]
    return name or None


def parse_universal_target(arn: Optional[str]) -> Optional[UniversalTarget]:
    """The service and API action of a Scheduler universal target ARN, else None."""
    if not arn or ":scheduler:::aws-sdk:" not in arn:
        return None
    parts = arn.split(":scheduler:::aws-sdk:", 1)[1].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return UniversalTarget(parts[0], parts[1])


def _string_attribute(attributes: Mapping[str, Any], name: str) -> Optional[str]:
    value = attributes.get(name)
    if not isinstance(value, Mapping):
        return None
    text = value.get("StringValue")
    return text if isinstance(text, str) else None


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _bool_or_none(text: Optional[str]) -> Optional[bool]:
    if text is None:
        return None
    return {"true": True, "false": False}.get(text.strip().lower())


def _str_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> dict[str, Any]:
    """A copy of `value` if it is a mapping; anything else carries no attributes."""
    return dict(value) if isinstance(value, Mapping) else {}


def _arn_text(value: Any) -> str:
    """An ARN for a hint, or a placeholder: hints quote nothing else from a body."""
    if not isinstance(value, str) or not value.startswith("arn:"):
        return "(unknown)"
    plain = value.isprintable() and not any(char.isspace() for char in value)
    return value if plain and len(value) <= _MAX_ARN_CHARS else "(unknown)"


def _keep(record: DlqRecord, reason: str, kind: ProblemKind, hint: Optional[str] = None) -> None:
    record.problem = reason
    record.problem_kind = kind
    record.hint = hint


def _event_problem(event: Mapping[str, Any], texts: Mapping[str, str]) -> Optional[str]:
    """Why this object cannot become a PutEvents entry, or None."""
    for key, reason in (
        ("source", "missing_source"),
        ("detail-type", "missing_detail_type"),
        ("detail", "missing_detail"),
    ):
        if key not in event:
            return reason
    if not isinstance(event["source"], str) or not event["source"]:
        return "invalid_source"
    if not isinstance(event["detail-type"], str) or not event["detail-type"]:
        return "invalid_detail_type"
    if not isinstance(event["detail"], dict) or not texts["detail"].startswith("{"):
        return "detail_not_object"
    resources = event.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(item, str) for item in resources):
        return "invalid_resources"
    if "time" in event and not isinstance(event["time"], str):
        return "invalid_time"
    return None


def _apply_system_attributes(record: DlqRecord, system: Mapping[str, Any]) -> None:
    record.receive_count = _int_or_none(system.get("ApproximateReceiveCount")) or 0
    record.sent_timestamp_ms = _int_or_none(system.get("SentTimestamp"))


def _is_scheduler_message(attributes: Mapping[str, Any]) -> bool:
    # Scheduler shares ERROR_CODE/TARGET_ARN/RETRY_ATTEMPTS with rule-target DLQs; only
    # its own attributes tell it apart.
    return any(_string_attribute(attributes, name) for name in ("SCHEDULE_ARN", "EXECUTION_ID"))


def _apply_message_attributes(record: DlqRecord, attributes: Mapping[str, Any]) -> None:
    if "RULE_ARN" in attributes or "ERROR_CODE" in attributes:
        record.origin = ORIGIN_EVENTBRIDGE
        record.rule_arn = _string_attribute(attributes, "RULE_ARN")
        record.target_arn = _string_attribute(attributes, "TARGET_ARN")
        record.error_code = _string_attribute(attributes, "ERROR_CODE")
        record.error_message = _string_attribute(attributes, "ERROR_MESSAGE")
        record.exhausted_retry_condition = _string_attribute(
            attributes, "EXHAUSTED_RETRY_CONDITION"
        )
        record.retry_attempts = _int_or_none(_string_attribute(attributes, "RETRY_ATTEMPTS"))
    elif "RequestID" in attributes or "ErrorCode" in attributes:
        record.origin = ORIGIN_LAMBDA_DLQ
        record.request_id = _string_attribute(attributes, "RequestID")
        record.error_code = _string_attribute(attributes, "ErrorCode")
        record.error_message = _string_attribute(attributes, "ErrorMessage")


def _apply_scheduler(record: DlqRecord, attributes: Mapping[str, Any]) -> None:
    """An EventBridge Scheduler dead-letter event: kept, with its input when it is whole.

    The Scheduler user guide ("Configuring a schedule's dead-letter queue", section
    "Retrieve the dead-letter event") documents one shape: TARGET_ARN is always the
    service ARN `arn:aws:scheduler:::aws-sdk:SERVICE:API_ACTION`, templated targets
    included, and the body is the request parameters Scheduler sent that API (its example,
    `aws-sdk:sqs:sendMessage`: `{"MessageBody": "Hello, world!", "QueueUrl": "..."}`),
    with the attributes ERROR_CODE, ERROR_MESSAGE, EXECUTION_ID, EXHAUSTED_RETRY_CONDITION,
    IS_PAYLOAD_TRUNCATED, RETRY_ATTEMPTS, SCHEDULED_TIME, SCHEDULE_ARN and TARGET_ARN.
    Only IS_PAYLOAD_TRUNCATED exactly "false" makes the body the whole request
    (`schedule_input`); otherwise `schedule_input_problem` says why it cannot be sent.
    It is never an event, so in bus mode it is always kept (`scheduler_dead_letter`); in
    target mode the planner calls the API again with the body (see scheduler.py).
    """
    record.origin = ORIGIN_SCHEDULER
    record.rule_arn = None
    record.schedule_arn = _string_attribute(attributes, "SCHEDULE_ARN")
    record.execution_id = _string_attribute(attributes, "EXECUTION_ID")
    record.scheduled_time = _string_attribute(attributes, "SCHEDULED_TIME")
    record.target_arn = _string_attribute(attributes, "TARGET_ARN")
    record.error_code = _string_attribute(attributes, "ERROR_CODE")
    record.error_message = _string_attribute(attributes, "ERROR_MESSAGE")
    record.exhausted_retry_condition = _string_attribute(attributes, "EXHAUSTED_RETRY_CONDITION")
    record.retry_attempts = _int_or_none(_string_attribute(attributes, "RETRY_ATTEMPTS"))
    truncated = _string_attribute(attributes, "IS_PAYLOAD_TRUNCATED")
    record.payload_truncated = _bool_or_none(truncated)
    if truncated == "false":
        record.schedule_input = _schedule_input(record.body)
    _keep(
        record,
        SCHEDULER_DEAD_LETTER,
        ProblemKind.SCHEDULER,
        "an EventBridge Scheduler dead-letter event of schedule"
        f" {_arn_text(record.schedule_arn)} (target {_arn_text(record.target_arn)}):"
        " its body is the request the schedule sent its target's API, not an event, so it"
        " never goes on a bus",
    )


def _schedule_input(text: str) -> ScheduleInput:
    try:
        return ScheduleInput(text, json.loads(text), True)
    except (ValueError, RecursionError):
        return ScheduleInput(text)


def _unwrap_destination(record: DlqRecord, outer: RawObject) -> RawObject:
    """Lambda on-failure destination: the event sits in `requestPayload`."""
    record.origin = ORIGIN_LAMBDA_DESTINATION
    context = outer.values.get("requestContext")
    if isinstance(context, dict):
        record.request_id = _str_or_none(context.get("requestId"))
        record.target_arn = _str_or_none(context.get("functionArn"))
        record.exhausted_retry_condition = _str_or_none(context.get("condition"))
        record.retry_attempts = _int_or_none(context.get("approximateInvokeCount"))
    response = outer.values.get("responseContext")
    if isinstance(response, dict):
        record.error_code = _str_or_none(response.get("functionError"))
    payload = outer.values.get("responsePayload")
    if isinstance(payload, dict):
        record.error_message = _str_or_none(payload.get("errorMessage"))
    if not isinstance(outer.values["requestPayload"], dict):
        raise BodyError("destination_payload_not_object")
    return parse_raw_object(outer.texts["requestPayload"])


def _is_destination_record(raw: RawObject) -> bool:
    return "requestPayload" in raw.values and "requestContext" in raw.values


def _is_encrypted_wrapper(values: Mapping[str, Any]) -> bool:
    detail = values.get("detail")
    return (
        values.get("source") == ENCRYPTED_SOURCE
        and values.get("detail-type") == ENCRYPTED_DETAIL_TYPE
        and isinstance(detail, dict)
        and "encrypted-payload" in detail
    )


def _standard_rule_arn(value: Any) -> Optional[str]:
    """The wrapper's rule-arn in the form rules have everywhere else.

    The decrypting page shows `arn:aws:events:R:A:event-bus/BUS/RULE`; a rule's ARN is
    `arn:aws:events:R:A:rule/BUS/RULE` (`rule/RULE` on the default bus), which is what
    RULE_ARN carries and what filters and the bus lookup expect. Rule names hold no slash,
    so the rule is the last segment and the bus everything before it.
    """
    arn = _str_or_none(value)
    if arn is None or ":event-bus/" not in arn:
        return arn
    prefix, path = arn.split(":event-bus/", 1)
    bus, _slash, rule = path.rpartition("/")
    if not bus or not rule:
        return arn
    return f"{prefix}:rule/{rule}" if bus == "default" else f"{prefix}:rule/{bus}/{rule}"


def _apply_encrypted_wrapper(record: DlqRecord, values: dict[str, Any]) -> None:
    """Keep the wrapper: its new id, source and detail are not the event's."""
    detail = values["detail"]
    record.origin = ORIGIN_ENCRYPTED_EVENT
    record.event = values
    record.event_bus_arn = _str_or_none(detail.get("event-bus-arn"))
    record.kms_key_arn = _str_or_none(detail.get("kms-key-arn"))
    record.encrypted_payload = _str_or_none(detail.get("encrypted-payload"))
    # A target DLQ also sends RULE_ARN; the wrapper's own rule-arn fills in for a bus DLQ.
    record.rule_arn = record.rule_arn or _standard_rule_arn(detail.get("rule-arn"))
    _keep(
        record,
        ENCRYPTED_EVENT,
        ProblemKind.ENCRYPTED,
        f"the event is encrypted with KMS key {_arn_text(record.kms_key_arn)} of event bus"
        f" {_arn_text(record.event_bus_arn)}; once the key is usable, redrive with decrypt"
        " (kms:Decrypt on that key) to put the original event back",
    )


def _sns_hint(values: Mapping[str, Any]) -> str:
    hint = f"an Amazon SNS {values['Type']} from topic {_arn_text(values.get('TopicArn'))}"
    message = values.get("Message")
    try:
        inner = json.loads(message) if isinstance(message, str) else None
    except (ValueError, RecursionError):
        inner = None
    if isinstance(inner, dict) and all(key in inner for key in _EVENT_KEYS):
        return hint + ": its Message is an EventBridge event, redrive it from the topic"
    return hint + ", not an EventBridge event"


def _s3_bucket(values: Mapping[str, Any]) -> str:
    if values.get("Event") == "s3:TestEvent":
        name = values.get("Bucket")
    else:
        s3 = values["Records"][0].get("s3")
        bucket = s3.get("bucket") if isinstance(s3, dict) else None
        name = bucket.get("name") if isinstance(bucket, dict) else None
    return name if isinstance(name, str) and _BUCKET_NAME.match(name) else "(unknown)"


def _is_s3_notification(values: Mapping[str, Any]) -> bool:
    if values.get("Service") == "Amazon S3" and values.get("Event") == "s3:TestEvent":
        return True
    records = values.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(item, dict) and item.get("eventSource") == "aws:s3" for item in records)
    )


def _stream_failure(values: Mapping[str, Any]) -> tuple[str, str]:
    """A discarded-batch record: Lambda's names its function, a pipe's does not."""
    info = next(values[key] for key in _STREAM_BATCH_KEYS if key in values)
    stream = _arn_text(info.get("streamArn") if isinstance(info, dict) else None)
    context = values.get("requestContext")
    function = _str_or_none(context.get("functionArn")) if isinstance(context, dict) else None
    if function and ":lambda:" in function:
        return (
            LAMBDA_STREAM_FAILURE_RECORD,
            f"a Lambda failure record of function {_arn_text(function)} for a batch of"
            f" stream {stream}:"
            " it points at records in the stream, not an event",
        )
    return (
        PIPES_FAILURE_RECORD,
        f"an EventBridge Pipes failure record for a batch of stream {stream}:"
        " it points at records in the stream, not an event",
    )


def _foreign_reason(values: Mapping[str, Any]) -> tuple[str, str]:
    """What a JSON object that is no event looks like, with a hint naming it."""
    kind = values.get("Type")
    if (
        isinstance(kind, str)
        and kind in _SNS_TYPES
        and "TopicArn" in values
        and "MessageId" in values
    ):
        return SNS_NOTIFICATION, _sns_hint(values)
    if _is_s3_notification(values):
        return (
            S3_EVENT_NOTIFICATION,
            f"an Amazon S3 event notification for bucket {_s3_bucket(values)},"
            " not an EventBridge event",
        )
    if any(key in values for key in _STREAM_BATCH_KEYS):
        return _stream_failure(values)
    return NOT_AN_EVENT, "a JSON object with no source, detail-type or detail: not an event"


def _looks_like_event(values: Mapping[str, Any]) -> bool:
    return any(key in values for key in _EVENT_KEYS)


def _apply_body(record: DlqRecord, raw: RawObject) -> None:
    """Decide what the top-level object is: the wrapper, a foreign record or an event."""
    if _is_encrypted_wrapper(raw.values):
        _apply_encrypted_wrapper(record, raw.values)
        return
    if not _looks_like_event(raw.values):
        reason, hint = _foreign_reason(raw.values)
        _keep(record, reason, ProblemKind.FOREIGN_RECORD, hint)
        return
    record.event = raw.values
    record.event_text = raw.text
    problem = _event_problem(raw.values, raw.texts)
    if problem is None:
        record.detail_text = raw.texts["detail"]
    else:
        _keep(record, problem, ProblemKind.BAD_RECORD)


def parse_message(message: Mapping[str, Any]) -> DlqRecord:
    """Turn one ReceiveMessage entry into a DlqRecord; never raises on bad input."""
    body = message.get("Body")
    record = DlqRecord(
        message_id=str(message.get("MessageId", "")),
        receipt_handle=str(message.get("ReceiptHandle", "")),
        body=body if isinstance(body, str) else "",
        message_attributes=_mapping(message.get("MessageAttributes")),
    )
    _apply_system_attributes(record, _mapping(message.get("Attributes")))
    _apply_message_attributes(record, record.message_attributes)
    if _is_scheduler_message(record.message_attributes):
        _apply_scheduler(record, record.message_attributes)
        return record
    if not record.body.strip():
        _keep(record, "empty_body", ProblemKind.BAD_RECORD)
        return record
    try:
        raw = parse_raw_object(record.body)
        if _is_destination_record(raw):
            raw = _unwrap_destination(record, raw)
    except BodyError as error:
        _keep(record, error.reason, ProblemKind.BAD_RECORD)
        return record
    _apply_body(record, raw)
    return record


def with_decrypted_event(record: DlqRecord, plaintext: str) -> DlqRecord:
    """A copy of an encrypted-event record that holds the event decrypted from it.

    The copy keeps the message (body, receipt handle, attributes, bus, key) and takes the
    event from `plaintext`; one that is not a usable event is kept like any malformed
    body, its reason prefixed `decrypted_`. The body stays the wrapper, so nothing
    decrypted is ever written back to a queue.
    """
    copy = dataclasses.replace(
        record,
        event=None,
        event_text=None,
        detail_text=None,
        problem=None,
        problem_kind=None,
        hint=None,
    )
    copy.decrypted = True
    try:
        raw = parse_raw_object(plaintext)
    except BodyError as error:
        _keep(copy, "decrypted_" + error.reason, ProblemKind.BAD_RECORD)
        return copy
    copy.event = raw.values
    copy.event_text = raw.text
    if _is_encrypted_wrapper(raw.values):
        # Never put a wrapper back as if it were the event.
        _keep(copy, "decrypted_encrypted_event", ProblemKind.BAD_RECORD)
        return copy
    problem = _event_problem(raw.values, raw.texts)
    if problem is None:
        copy.detail_text = raw.texts["detail"]
    else:
        _keep(copy, "decrypted_" + problem, ProblemKind.BAD_RECORD)
    return copy
