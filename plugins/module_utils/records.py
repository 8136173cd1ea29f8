# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse one SQS dead-letter message into a DlqRecord.

Three shapes reach a DLQ behind EventBridge: the rule-target DLQ (the event as
EventBridge saw it, with RULE_ARN/TARGET_ARN/... attributes), the Lambda
asynchronous-invocation DLQ (the event, with RequestID/ErrorCode/ErrorMessage)
and the Lambda on-failure destination (the event wrapped as `requestPayload`).

Parsing never raises: a body we cannot turn into an event yields a record with
`problem` set to a specific reason, so the message is kept, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

ORIGIN_EVENTBRIDGE = "eventbridge_dlq"
ORIGIN_LAMBDA_DLQ = "lambda_dlq"
ORIGIN_LAMBDA_DESTINATION = "lambda_destination"
ORIGIN_UNKNOWN = "unknown"

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


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

    @property
    def event_id(self) -> Optional[str]:
        if self.event is None:
            return None
        value = self.event.get("id")
        return value if isinstance(value, str) else None

    @property
    def redrivable(self) -> bool:
        return self.problem is None

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
        )
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


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


def _mapping(value: Any) -> dict[str, Any]:
    """A copy of `value` if it is a mapping; anything else carries no attributes."""
    return dict(value) if isinstance(value, Mapping) else {}


def _str_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _is_destination_record(raw: RawObject) -> bool:
    return "requestPayload" in raw.values and "requestContext" in raw.values


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
    if not record.body.strip():
        record.problem = "empty_body"
        return record
    try:
        raw = parse_raw_object(record.body)
        if _is_destination_record(raw):
            raw = _unwrap_destination(record, raw)
    except BodyError as error:
        record.problem = error.reason
        return record
    record.event = raw.values
    record.event_text = raw.text
    record.problem = _event_problem(raw.values, raw.texts)
    if record.problem is None:
        record.detail_text = raw.texts["detail"]
    return record
