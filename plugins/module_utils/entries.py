# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a DlqRecord into the PutEvents entry that puts its event back."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any, Optional

from .records import ORIGIN_EVENTBRIDGE, DlqRecord

DEFAULT_BUS = "default"
DEFAULT_AWS_SOURCE_PREFIX = "redrive."
TIME_FIELD_BYTES = 14


class OptionError(ValueError):
    """An option value or combination that cannot work."""


@dataclass(frozen=True)
class EntryOptions:
    """How records become entries.

    `event_bus` wins over the bus derived from RULE_ARN. `source_override`
    replaces every source (the fixed-string behaviour some operators rely on);
    otherwise custom sources are kept and `aws.*` sources, which PutEvents
    refuses, get `aws_source_prefix` in front (unless `rewrite_aws_sources` is
    off, for accounts where consumers must see the original). `marker_field` names a key added
    at the end of `Detail` that carries the original event id and DLQ message id,
    so consumers can tell a redriven event apart.
    """

    event_bus: Optional[str] = None
    aws_source_prefix: str = DEFAULT_AWS_SOURCE_PREFIX
    source_override: Optional[str] = None
    marker_field: Optional[str] = None
    rewrite_aws_sources: bool = True

    def validate(self) -> None:
        if self.source_override is not None:
            if not self.source_override:
                raise OptionError("source_override must not be empty")
            if self.source_override.startswith("aws."):
                raise OptionError(
                    "source_override must not start with 'aws.': PutEvents refuses "
                    "sources in the aws.* namespace for every entry"
                )
        if self.aws_source_prefix.startswith("aws.") or not self.aws_source_prefix:
            raise OptionError(
                "aws_source_prefix must be non-empty and must not start with 'aws.' "
                "(the rewritten source would still be refused)"
            )
        if self.event_bus is not None and not self.event_bus:
            raise OptionError("event_bus must not be empty")


@dataclass
class Entry:
    """A PutEvents entry with its size by the AWS formula."""

    fields: dict[str, Any]
    size: int
    source_rewritten: bool = False

    @property
    def bus(self) -> str:
        return str(self.fields["EventBusName"])


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def entry_size(fields: dict[str, Any]) -> int:
    """Entry size as PutEvents counts it (EventBusName and TraceHeader are free)."""
    size = TIME_FIELD_BYTES if fields.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = fields.get(key)
        if value:
            size += utf8_len(value)
    for resource in fields.get("Resources") or ():
        size += utf8_len(resource)
    return size


def split_rule_arn(rule_arn: Optional[str]) -> Optional[tuple[str, str]]:
    """`arn:aws:events:R:A:rule/BUS/NAME` → (BUS, NAME); `…:rule/NAME` → (default, NAME).

    Bus names may hold slashes (partner buses: `aws.partner/example.com/123/orders`),
    rule names may not: the bus is everything between `rule/` and the last `/`.
    None when the ARN cannot be read.
    """
    if not rule_arn or not rule_arn.startswith("arn:") or ":rule/" not in rule_arn:
        return None
    path = rule_arn.split(":rule/", 1)[1]
    bus, _slash, name = path.rpartition("/")
    if not name or (_slash and not bus) or "//" in path or path.startswith("/"):
        return None
    return (bus or DEFAULT_BUS, name)


def bus_from_rule_arn(rule_arn: Optional[str]) -> Optional[str]:
    parts = split_rule_arn(rule_arn)
    return parts[0] if parts is not None else None


def choose_bus(record: DlqRecord, options: EntryOptions) -> Optional[str]:
    """The bus to put on: `event_bus`, else the failed rule's bus.

    None for a rule-target DLQ record whose RULE_ARN cannot be read: guessing `default`
    would put the event where the failed rule does not exist.
    """
    if options.event_bus:
        return options.event_bus
    bus = bus_from_rule_arn(record.rule_arn)
    if bus is not None:
        return bus
    if record.origin == ORIGIN_EVENTBRIDGE:
        return None
    return DEFAULT_BUS


def choose_source(source: str, options: EntryOptions) -> str:
    if options.source_override is not None:
        return options.source_override
    if source.startswith("aws.") and options.rewrite_aws_sources:
        return options.aws_source_prefix + source
    return source


def _with_marker(detail_text: str, record: DlqRecord, marker_field: str) -> str:
    """Append the marker as the last key, leaving the original text untouched."""
    marker = {"event_id": record.event_id, "message_id": record.message_id}
    addition = json.dumps(marker_field) + ":" + json.dumps(marker, separators=(",", ":"))
    body = detail_text.rstrip()[:-1].rstrip()
    separator = "" if body.endswith("{") else ","
    return body + separator + addition + "}"


def event_time(text: str) -> Any:
    """The event's time as an aware datetime, or the text if it is not ISO 8601.

    botocore accepts either, but parses text with dateutil twice per entry
    (validation and serialisation), which costs more CPU than the rest of a
    redrive; a datetime takes its fast path.
    """
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def build_entry(record: DlqRecord, options: EntryOptions, bus: Optional[str] = None) -> Entry:
    """The entry for a redrivable record (callers check `record.redrivable`) on `bus`
    (by default the bus `choose_bus` gives)."""
    event = record.event or {}
    detail = record.detail_text or "{}"
    if options.marker_field and options.marker_field not in event.get("detail", {}):
        detail = _with_marker(detail, record, options.marker_field)
    source = choose_source(event["source"], options)
    fields: dict[str, Any] = {
        "Source": source,
        "DetailType": event["detail-type"],
        "Detail": detail,
        "EventBusName": bus or choose_bus(record, options) or DEFAULT_BUS,
    }
    if event.get("resources"):
        fields["Resources"] = list(event["resources"])
    if event.get("time"):
        fields["Time"] = event_time(event["time"])
    return Entry(fields, entry_size(fields), source_rewritten=source != event["source"])
