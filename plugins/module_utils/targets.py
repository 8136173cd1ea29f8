# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule targets: what a target ARN names, and one sender per supported target type that
delivers a payload with the target service's own API, as EventBridge would have.

Every sender reads each per-entry result and answers per delivery, in order. A delivery
that the API could never take (too large, no usable partition key or log stream name) is
answered with a Failure without being sent; a whole-call error is raised as AwsError.

Limits (bytes and counts) come from each API reference:
- SendMessageBatch: 10 messages, each and all together at most 1 MiB (256 KiB before
  August 2025 and still in the China regions), counted as the UTF-8 body (no attributes
  are sent).
- PublishBatch: 10 messages, 256 KiB (262,144 bytes) per message and per request.
- Invoke (InvocationType=Event): payload at most 1 MB (256 KB before 2025).
- StartExecution: input at most 256 KiB, UTF-8 bytes.
- PutRecords: 500 records, 1 MiB per record (data + partition key), 5 MiB per request.
- PutRecordBatch: 500 records, 1,000 KB per record, 4 MB per request.
- PutLogEvents: the sum of UTF-8 messages plus 26 bytes per event at most 1,048,576.
`max_request_bytes` (the run's option) also caps the message-sized APIs whose limits differ
by region and date (PutEvents, SendMessageBatch, PublishBatch, Invoke, StartExecution).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from .aws import Clients, aws_error
from .delivery import (
    ACCEPTED,
    ALREADY_DELIVERED,
    Answer,
    BusSender,
    Delivery,
    Destination,
    Sender,
    TargetType,
    slot_answers,
)
from .entries import event_time, utf8_len
from .failures import Failure, Kind, entry_failure
from .scheduler import SchedulerSender
from .transform import PathError, resolve_path

KIB = 1024
MIB = 1024 * KIB

SQS_MAX_MESSAGES = 10
SQS_MAX_BATCH_BYTES = 1 * MIB
SNS_MAX_MESSAGES = 10
SNS_MAX_BATCH_BYTES = 256 * KIB
LAMBDA_MAX_EVENT_PAYLOAD_BYTES = 1 * MIB
SFN_MAX_INPUT_BYTES = 256 * KIB
KINESIS_MAX_RECORDS = 500
KINESIS_MAX_RECORD_BYTES = 1 * MIB
KINESIS_MAX_REQUEST_BYTES = 5 * MIB
KINESIS_MAX_PARTITION_KEY_CHARS = 256
# "1,000 KB" and "4 MB": read as decimal, the smaller reading.
FIREHOSE_MAX_RECORDS = 500
FIREHOSE_MAX_RECORD_BYTES = 1_000_000
FIREHOSE_MAX_REQUEST_BYTES = 4_000_000
LOGS_MAX_BATCH_BYTES = 1_048_576
LOGS_EVENT_OVERHEAD_BYTES = 26

# A Step Functions execution name: 1-80 characters; only these keep CloudWatch logging on.
SFN_MAX_NAME_CHARS = 80
# An EventBridge event id is a UUID; anything else is hashed into the token.
_PLAIN_EVENT_ID = re.compile(r"[A-Za-z0-9-]{1,40}\Z")

Prepared = Union[dict[str, Any], Failure]
CallCounter = Callable[[str], None]


def _uncounted(action: str) -> None:
    return None


# --- target ARNs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(text: str) -> Optional[Arn]:
    """`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (the resource may hold colons)."""
    parts = text.split(":", 5) if isinstance(text, str) else []
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


# (service, resource prefix) -> the supported type, as the PutTargets reference and the
# user guide's "Event bus targets" page write their ARNs.
_SUPPORTED: tuple[tuple[str, str, TargetType], ...] = (
    ("lambda", "function:", TargetType.LAMBDA),  # function:NAME[:VERSION|ALIAS]
    ("states", "stateMachine:", TargetType.STEP_FUNCTIONS),
    ("kinesis", "stream/", TargetType.KINESIS),
    ("firehose", "deliverystream/", TargetType.FIREHOSE),
    ("logs", "log-group:", TargetType.LOGS),  # log-group:NAME[:*]
    ("events", "event-bus/", TargetType.EVENT_BUS),  # this or another account or region
)

# Targets this tool does not deliver to: a name for results and for
# `target_type_not_supported: <name>`.
_UNSUPPORTED: tuple[tuple[str, str, str], ...] = (
    ("events", "api-destination/", "api_destination"),
    ("events", "target/create-snapshot", "ec2_create_snapshot"),
    ("events", "target/reboot-instances", "ec2_reboot_instances"),
    ("events", "target/stop-instances", "ec2_stop_instances"),
    ("events", "target/terminate-instances", "ec2_terminate_instances"),
    ("events", "archive/", "event_archive"),
    ("execute-api", "", "api_gateway"),
    ("appsync", "", "appsync"),
    ("batch", "job-queue/", "batch_job_queue"),
    ("ecs", "cluster/", "ecs_task"),
    ("codebuild", "project/", "codebuild_project"),
    ("codepipeline", "", "codepipeline"),
    ("imagebuilder", "", "ec2_image_builder"),
    ("inspector", "", "inspector_assessment_template"),
    ("redshift", "cluster:", "redshift_cluster"),
    ("redshift-serverless", "workgroup/", "redshift_serverless_workgroup"),
    ("sagemaker", "pipeline/", "sagemaker_pipeline"),
    ("ssm", "automation-definition/", "ssm_automation"),
    ("ssm", "opsitem", "ssm_opsitem"),
    ("ssm", "document/", "ssm_run_command"),
    ("ssm-incidents", "", "ssm_incident_response_plan"),
)


def target_type(arn: str) -> tuple[Optional[TargetType], str]:
    """The type of a rule target and its display name; None for the types not delivered to.

    >>> target_type("arn:aws:lambda:us-east-1:123456789012:function:orders:live")
    (<TargetType.LAMBDA: 'lambda'>, 'lambda')
    >>> target_type("arn:aws:batch:us-east-1:123456789012:job-queue/nightly")
    (None, 'batch_job_queue')
    """
    parsed = parse_arn(arn)
    if parsed is None:
        return None, "unknown"
    for service, prefix, kind in _SUPPORTED:
        named = len(parsed.resource) > len(prefix)
        if parsed.service == service and parsed.resource.startswith(prefix) and named:
            return kind, kind.value
    if parsed.service in ("sqs", "sns") and _plain_name(parsed.resource):
        kind = TargetType.SQS if parsed.service == "sqs" else TargetType.SNS
        return kind, kind.value
    for service, prefix, name in _UNSUPPORTED:
        if parsed.service == service and parsed.resource.startswith(prefix):
            return None, name
    return None, parsed.service.replace("-", "_")


def _plain_name(resource: str) -> bool:
    """A queue or topic name (a subscription ARN has `:ID` after the topic)."""
    return bool(resource) and ":" not in resource and "/" not in resource


def _resource_after(arn: str, prefix: str) -> str:
    parsed = parse_arn(arn)
    resource = parsed.resource if parsed is not None else ""
    return resource[len(prefix) :] if resource.startswith(prefix) else resource


def log_group_name(arn: str) -> str:
    """`…:log-group:NAME` or `…:log-group:NAME:*` → NAME."""
    name = _resource_after(arn, "log-group:")
    return name[:-2] if name.endswith(":*") else name


def queue_url(sqs: Any, arn: str) -> str:
    """The queue URL from its ARN, on the client's own endpoint (no GetQueueUrl, so no
    sqs:GetQueueUrl permission): https://sqs.REGION.amazonaws.com/ACCOUNT/NAME on AWS."""
    parsed = parse_arn(arn)
    if parsed is None:
        raise ValueError(f"not an SQS queue ARN: {arn}")
    endpoint = str(sqs.meta.endpoint_url).rstrip("/")
    return f"{endpoint}/{parsed.account}/{parsed.resource}"


# --- what every sender shares --------------------------------------------------------


def delivery_token(event_id: Optional[str], rule_arn: Optional[str]) -> Optional[str]:
    """A name for one event's delivery by one rule: the same on every run, different for
    each rule (two rules may send the same event to one FIFO queue or state machine).

    `EVENT-ID_RULEHASH` (53 characters for a UUID), or a SHA-256 hex digest of both when the
    id is not a plain one. It fits an SQS/SNS MessageDeduplicationId (≤ 128, alphanumeric
    and punctuation) and a Step Functions execution name (≤ 80, only 0-9 A-Z a-z - _).
    None without an event id: nothing stable to derive it from.
    """
    if not event_id:
        return None
    rule = hashlib.sha256((rule_arn or "").encode("utf-8")).hexdigest()[:16]
    if _PLAIN_EVENT_ID.match(event_id):
        return f"{event_id}_{rule}"
    return hashlib.sha256(f"{rule_arn or ''}\0{event_id}".encode()).hexdigest()


def _content_token(payload: str, rule_arn: Optional[str]) -> str:
    # What content-based deduplication would do with the body, kept apart per rule.
    return hashlib.sha256(f"{rule_arn or ''}\0{payload}".encode()).hexdigest()


def _rule_arn(delivery: Delivery) -> Optional[str]:
    target = delivery.destination.target
    if target is not None and target.rule_arn:
        return target.rule_arn
    return delivery.record.rule_arn


def _settings(destination: Destination) -> Mapping[str, Any]:
    return destination.target.settings if destination.target is not None else {}


def _setting(destination: Destination, group: str, name: str) -> Optional[str]:
    values = _settings(destination).get(group)
    value = values.get(name) if isinstance(values, Mapping) else None
    return value if isinstance(value, str) and value else None


def too_large(size: int, limit: int, what: str) -> Failure:
    return Failure(Kind.ENTRY_TOO_LARGE, "PayloadTooLarge", f"{size} bytes, {what} allow {limit}")


def _call(action: str, operation: Callable[..., Any], **request: Any) -> Any:
    try:
        return operation(**request)
    except Exception as error:  # botocore raises many unrelated classes
        raise aws_error(error, action) from None


def _single(batch: Sequence[Delivery], action: str) -> Delivery:
    # One call per delivery: a second delivery in the batch could not be answered apart
    # from a whole-call error of the first.
    if len(batch) != 1:
        raise ValueError(f"{action} sends one delivery per call, got {len(batch)}")
    return batch[0]


def send_prepared(
    batch: Sequence[Delivery],
    prepare: Callable[[Delivery], Prepared],
    put: Callable[[list[dict[str, Any]]], list[Answer]],
) -> list[Answer]:
    """Prepare each delivery's request entry, send those that can be sent in one call, and
    answer every delivery in order (unsendable ones with the Failure `prepare` gave)."""
    answers: list[Optional[Answer]] = [None] * len(batch)
    sent: list[int] = []
    entries: list[dict[str, Any]] = []
    for index, delivery in enumerate(batch):
        prepared = prepare(delivery)
        if isinstance(prepared, Failure):
            answers[index] = prepared
        else:
            sent.append(index)
            entries.append(prepared)
    if entries:
        for index, answer in zip(sent, put(entries)):
            answers[index] = answer
    return [answer if answer is not None else _MISSING for answer in answers]


_MISSING = Failure(Kind.UNKNOWN_OUTCOME, "MissingResult", "the answer had no result for it")


def id_answers(response: Mapping[str, Any], count: int) -> list[Answer]:
    """SendMessageBatch and PublishBatch: `Successful[]` and `Failed[]` name each entry by
    the Id it was sent with (its index here); an entry in neither is an unknown outcome."""
    answers: dict[str, Answer] = {}
    for slot in response.get("Failed") or ():
        code = str(slot.get("Code") or "UnknownError")
        answers[str(slot.get("Id"))] = entry_failure(code, str(slot.get("Message") or ""), 1)
    for slot in response.get("Successful") or ():
        answers.setdefault(str(slot.get("Id")), ACCEPTED)
    return [answers.get(str(index), _MISSING) for index in range(count)]


def _with_ids(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"Id": str(index), **entry} for index, entry in enumerate(entries)]


def _fifo_fields(
    delivery: Delivery, group_id: Optional[str], rule_arn: Optional[str]
) -> dict[str, str]:
    """FIFO queues and topics: the group from the target's SqsParameters (EventBridge's only
    group setting; without one the service refuses the entry, as it refused EventBridge),
    and a deduplication id derived from the event and rule."""
    fields: dict[str, str] = {}
    if group_id:
        fields["MessageGroupId"] = group_id
    token = delivery_token(delivery.event_id, rule_arn)
    fields["MessageDeduplicationId"] = token or _content_token(delivery.payload, rule_arn)
    return fields


# --- one sender per target type ------------------------------------------------------


class _MessageBatchSender:
    """SendMessageBatch and PublishBatch: up to ten messages named by Id, answered in
    `Successful[]`/`Failed[]` by Id; a FIFO queue or topic gets a group and a deduplication
    id. Subclasses name the API, the body's field and the size limit."""

    action: str
    body_field: str
    what: str
    max_items = SQS_MAX_MESSAGES

    def __init__(self, destination: Destination, limit: int, max_request_bytes: int) -> None:
        self._fifo = destination.arn.endswith(".fifo")
        self._group_id = _setting(destination, "SqsParameters", "MessageGroupId")
        self.max_bytes = min(limit, max_request_bytes)
        self.max_item_bytes = self.max_bytes

    def size(self, delivery: Delivery) -> int:
        return utf8_len(delivery.payload)

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        return send_prepared(batch, self._entry, self._put)

    def _entry(self, delivery: Delivery) -> Prepared:
        size = self.size(delivery)
        if size > self.max_item_bytes:
            return too_large(size, self.max_item_bytes, self.what)
        entry: dict[str, Any] = {self.body_field: delivery.payload}
        if self._fifo:
            entry.update(_fifo_fields(delivery, self._group_id, _rule_arn(delivery)))
        return entry

    def _put(self, entries: list[dict[str, Any]]) -> list[Answer]:
        return id_answers(self._call(_with_ids(entries)), len(entries))

    def _call(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        raise NotImplementedError


class SqsSender(_MessageBatchSender):
    """SendMessageBatch to a queue; FIFO queues get a group and a deduplication id.

    EventBridge itself requires content-based deduplication on a FIFO queue target
    (Target.SqsParameters); an explicit id works with or without it and keeps two rules'
    copies of one event apart.
    """

    action = "SendMessageBatch"
    body_field = "MessageBody"
    what = "SQS messages"

    def __init__(self, sqs: Any, destination: Destination, max_request_bytes: int) -> None:
        super().__init__(destination, SQS_MAX_BATCH_BYTES, max_request_bytes)
        self._sqs = sqs
        self._url = queue_url(sqs, destination.arn)

    def _call(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        return _call(self.action, self._sqs.send_message_batch, QueueUrl=self._url, Entries=entries)


class SnsSender(_MessageBatchSender):
    """PublishBatch to a topic; FIFO topics as FIFO queues."""

    action = "PublishBatch"
    body_field = "Message"
    what = "SNS messages"
    max_items = SNS_MAX_MESSAGES

    def __init__(self, sns: Any, destination: Destination, max_request_bytes: int) -> None:
        super().__init__(destination, SNS_MAX_BATCH_BYTES, max_request_bytes)
        self._sns = sns
        self._topic = destination.arn

    def _call(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        return _call(
            self.action,
            self._sns.publish_batch,
            TopicArn=self._topic,
            PublishBatchRequestEntries=entries,
        )


class _OneCallSender:
    """One call per delivery (Invoke, StartExecution): a payload over the API's limit is
    answered without a call; subclasses make the call."""

    action: str
    what: str
    max_items = 1

    def __init__(self, limit: int, max_request_bytes: int) -> None:
        self.max_bytes = min(limit, max_request_bytes)
        self.max_item_bytes = self.max_bytes

    def size(self, delivery: Delivery) -> int:
        return utf8_len(delivery.payload)

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        delivery = _single(batch, self.action)
        size = self.size(delivery)
        if size > self.max_item_bytes:
            return [too_large(size, self.max_item_bytes, self.what)]
        return [self._send_one(delivery)]

    def _send_one(self, delivery: Delivery) -> Answer:
        raise NotImplementedError


class LambdaSender(_OneCallSender):
    """Asynchronous Invoke (InvocationType=Event), one call per delivery; a qualified ARN
    (version or alias) is passed as given, which Invoke accepts as FunctionName."""

    action = "Invoke"
    what = "asynchronous invocations"

    def __init__(self, lambda_: Any, destination: Destination, max_request_bytes: int) -> None:
        super().__init__(LAMBDA_MAX_EVENT_PAYLOAD_BYTES, max_request_bytes)
        self._lambda = lambda_
        self._function = destination.arn

    def _send_one(self, delivery: Delivery) -> Answer:
        response = _call(
            self.action,
            self._lambda.invoke,
            FunctionName=self._function,
            InvocationType="Event",
            Payload=delivery.payload.encode("utf-8"),
        )
        body = response.get("Payload")
        if body is not None:
            body.read()  # frees the pooled connection; an Event invocation answers nothing
        status = response.get("StatusCode")
        if status == 202:
            return ACCEPTED
        return Failure(
            Kind.UNKNOWN_OUTCOME,
            "UnexpectedStatus",
            f"an asynchronous Invoke answers 202, this one {status}",
        )


class StepFunctionsSender(_OneCallSender):
    """StartExecution, one call per delivery, named after the event and rule.

    For a Standard workflow the name makes a repeated redrive safe: StartExecution with the
    name of a closed execution (or of a running one with other input) is refused with
    ExecutionAlreadyExists, answered ALREADY_DELIVERED; with the same input while it runs,
    it succeeds without starting another. Express workflows do not check names.
    """

    action = "StartExecution"
    what = "execution inputs"

    def __init__(self, states: Any, destination: Destination, max_request_bytes: int) -> None:
        super().__init__(SFN_MAX_INPUT_BYTES, max_request_bytes)
        self._states = states
        self._machine = destination.arn

    def _send_one(self, delivery: Delivery) -> Answer:
        request: dict[str, Any] = {"stateMachineArn": self._machine, "input": delivery.payload}
        name = delivery_token(delivery.event_id, _rule_arn(delivery))
        if name is not None:
            request["name"] = name
        try:
            self._states.start_execution(**request)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, self.action)
            if translated.code == "ExecutionAlreadyExists":
                return ALREADY_DELIVERED
            raise translated from None
        return ACCEPTED


class KinesisSender:
    """PutRecords; the partition key is KinesisParameters.PartitionKeyPath evaluated on the
    event, else the event id (the Target reference's default)."""

    action = "PutRecords"
    max_items = KINESIS_MAX_RECORDS
    max_bytes = KINESIS_MAX_REQUEST_BYTES
    max_item_bytes = KINESIS_MAX_RECORD_BYTES

    def __init__(self, kinesis: Any, destination: Destination) -> None:
        self._kinesis = kinesis
        self._stream = destination.arn
        self._key_path = _setting(destination, "KinesisParameters", "PartitionKeyPath")

    def size(self, delivery: Delivery) -> int:
        # The record limit and the request limit count the partition key with the data.
        key = self.partition_key(delivery)
        key_bytes = utf8_len(key) if isinstance(key, str) else 0
        return utf8_len(delivery.payload) + key_bytes

    def partition_key(self, delivery: Delivery) -> Union[str, Failure]:
        key: Optional[str] = delivery.event_id
        if self._key_path is not None:
            try:
                found, value = resolve_path(delivery.record.event or {}, self._key_path)
            except PathError as error:
                return Failure(Kind.TRANSFORM_FAILED, "InvalidPartitionKeyPath", str(error))
            # The documentation gives no rule for a path the event lacks; the event id keeps
            # such events flowing rather than parked.
            if found and value not in (None, "", []):
                key = value if isinstance(value, str) else _json_text(value)
        if not key:
            return Failure(
                Kind.ENTRY_REJECTED, "MissingPartitionKey", "no partition key and no event id"
            )
        if len(key) > KINESIS_MAX_PARTITION_KEY_CHARS:
            return Failure(
                Kind.ENTRY_REJECTED,
                "PartitionKeyTooLong",
                f"{len(key)} characters, a partition key allows 256",
            )
        return key

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        return send_prepared(batch, self._record, self._put)

    def _record(self, delivery: Delivery) -> Prepared:
        key = self.partition_key(delivery)
        if isinstance(key, Failure):
            return key
        size = self.size(delivery)
        if size > self.max_item_bytes:
            return too_large(size, self.max_item_bytes, "Kinesis records")
        return {"Data": delivery.payload.encode("utf-8"), "PartitionKey": key}

    def _put(self, records: list[dict[str, Any]]) -> list[Answer]:
        response = _call(
            self.action, self._kinesis.put_records, StreamARN=self._stream, Records=records
        )
        return slot_answers(
            response.get("Records") or [], len(records), "SequenceNumber", "MissingResult"
        )


class FirehoseSender:
    """PutRecordBatch; the record is the payload as is. EventBridge adds no delimiter:
    Firehose concatenates records unless its own destination settings add newlines."""

    action = "PutRecordBatch"
    max_items = FIREHOSE_MAX_RECORDS
    max_bytes = FIREHOSE_MAX_REQUEST_BYTES
    max_item_bytes = FIREHOSE_MAX_RECORD_BYTES

    def __init__(self, firehose: Any, destination: Destination) -> None:
        self._firehose = firehose
        self._stream = _resource_after(destination.arn, "deliverystream/")

    def size(self, delivery: Delivery) -> int:
        return utf8_len(delivery.payload)

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        return send_prepared(batch, self._record, self._put)

    def _record(self, delivery: Delivery) -> Prepared:
        size = self.size(delivery)
        if size > self.max_item_bytes:
            return too_large(size, self.max_item_bytes, "Firehose records")
        return {"Data": delivery.payload.encode("utf-8")}

    def _put(self, records: list[dict[str, Any]]) -> list[Answer]:
        response = _call(
            self.action,
            self._firehose.put_record_batch,
            DeliveryStreamName=self._stream,
            Records=records,
        )
        slots = response.get("RequestResponses") or []
        return slot_answers(slots, len(records), "RecordId", "MissingResult")


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    message: str


class LogsSender:
    """PutLogEvents into a log stream named after the event id, created first (as EventBridge
    creates one stream per event); one event per call.

    The log event is the payload stamped with the event's `time`; a target whose
    InputTransformer renders `{"timestamp": …, "message": …}` (the only template form
    PutTargets allows for a log group) gives both instead. Events older than 14 days or the
    group's retention are refused by CloudWatch Logs (`rejectedLogEventsInfo`).
    """

    action = "PutLogEvents"
    max_items = 1
    max_bytes = LOGS_MAX_BATCH_BYTES
    max_item_bytes = LOGS_MAX_BATCH_BYTES

    def __init__(
        self, logs: Any, destination: Destination, count_call: Optional[CallCounter] = None
    ) -> None:
        self._logs = logs
        self._group = log_group_name(destination.arn)
        self._templated = "InputTransformer" in _settings(destination)
        # The dispatcher counts PutLogEvents; the stream is made by a call of its own.
        self._count_call = count_call or _uncounted

    def size(self, delivery: Delivery) -> int:
        return utf8_len(self.log_event(delivery).message) + LOGS_EVENT_OVERHEAD_BYTES

    def log_event(self, delivery: Delivery) -> LogEvent:
        event = delivery.record.event or {}
        default_ms = _millis(event.get("time"))
        if self._templated:
            pair = _timestamp_message(delivery.payload)
            if pair is not None:
                stamp, message = pair
                return LogEvent(_millis(stamp) or default_ms or _now_ms(), message)
        return LogEvent(default_ms or _now_ms(), delivery.payload)

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        delivery = _single(batch, self.action)
        stream = delivery.event_id
        if not stream or ":" in stream or "*" in stream or len(stream) > 512:
            return [
                Failure(
                    Kind.ENTRY_REJECTED,
                    "InvalidLogStreamName",
                    "the log stream is named after the event id, which is missing or holds "
                    "':' or '*'",
                )
            ]
        size = self.size(delivery)
        if size > self.max_item_bytes:
            return [too_large(size, self.max_item_bytes, "log event batches")]
        log_event = self.log_event(delivery)
        self._create_stream(stream)
        response = _call(
            self.action,
            self._logs.put_log_events,
            logGroupName=self._group,
            logStreamName=stream,
            logEvents=[{"timestamp": log_event.timestamp_ms, "message": log_event.message}],
        )
        return [_rejected_answer(response.get("rejectedLogEventsInfo") or {})]

    def _create_stream(self, stream: str) -> None:
        self._count_call("CreateLogStream")
        try:
            self._logs.create_log_stream(logGroupName=self._group, logStreamName=stream)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, "CreateLogStream")
            if translated.code != "ResourceAlreadyExistsException":
                raise translated from None


def _rejected_answer(rejected: Mapping[str, Any]) -> Answer:
    """The call's one event (index 0) against `rejectedLogEventsInfo`: events from the
    too-new start index on, and up to the too-old or expired end index, were refused."""
    too_new = rejected.get("tooNewLogEventStartIndex")
    if isinstance(too_new, int) and too_new <= 0:
        return entry_failure("TooNewLogEvent", "refused: more than 2 hours in the future", 1)
    for key, code, why in (
        ("tooOldLogEventEndIndex", "TooOldLogEvent", "older than 14 days"),
        ("expiredLogEventEndIndex", "ExpiredLogEvent", "older than the group's retention"),
    ):
        end = rejected.get(key)
        if isinstance(end, int) and end >= 0:
            return entry_failure(code, f"refused: {why}", 1)
    return ACCEPTED


def _timestamp_message(payload: str) -> Optional[tuple[Any, str]]:
    try:
        rendered = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(rendered, dict) or set(rendered) != {"timestamp", "message"}:
        return None
    message = rendered["message"]
    return rendered["timestamp"], message if isinstance(message, str) else _json_text(message)


def _millis(value: Any) -> Optional[int]:
    """Epoch milliseconds from a number, digits, or an ISO 8601 time (the event's `time`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return int(value)
    moment = event_time(value)
    if isinstance(moment, datetime.datetime):
        return int(moment.timestamp() * 1000)
    return None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- choosing the sender -------------------------------------------------------------


def sender_for(
    destination: Destination,
    clients: Clients,
    max_request_bytes: int,
    count_call: Optional[CallCounter] = None,
) -> Sender:
    """The sender for a destination, with clients in the target's own region; `count_call`
    counts the calls a sender makes besides its `action` (CloudWatch Logs' CreateLogStream)."""
    region = destination.region or _region_of(destination.arn)
    kind = destination.type
    if kind is TargetType.EVENT_BUS:
        return BusSender(clients.client("events", region), max_request_bytes)
    if kind is TargetType.SQS:
        return SqsSender(clients.client("sqs", region), destination, max_request_bytes)
    if kind is TargetType.SNS:
        return SnsSender(clients.client("sns", region), destination, max_request_bytes)
    if kind is TargetType.LAMBDA:
        return LambdaSender(clients.client("lambda", region), destination, max_request_bytes)
    if kind is TargetType.STEP_FUNCTIONS:
        client = clients.client("stepfunctions", region)
        return StepFunctionsSender(client, destination, max_request_bytes)
    if kind is TargetType.KINESIS:
        return KinesisSender(clients.client("kinesis", region), destination)
    if kind is TargetType.FIREHOSE:
        return FirehoseSender(clients.client("firehose", region), destination)
    if kind is TargetType.LOGS:
        return LogsSender(clients.client("logs", region), destination, count_call)
    if kind is TargetType.SCHEDULER:
        # Each message names its own region; the sender picks the client per message.
        return SchedulerSender(clients, destination)
    raise ValueError(f"no sender for target type {kind}")


def _region_of(arn: str) -> Optional[str]:
    parsed = parse_arn(arn)
    return parsed.region or None if parsed is not None else None
