# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plain-data shape of one DLQ message, shared by the lookup and `aws … peek`."""

from __future__ import annotations

import datetime
from typing import Any, Optional

from .entries import Entry
from .outcomes import destination_fields
from .planning import Deliver, Keep, Plan
from .records import DlqRecord
from .rule_check import NOT_CHECKED


def _iso(timestamp_ms: Optional[int]) -> Optional[str]:
    if timestamp_ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000.0, tz=datetime.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def message_item(
    record: DlqRecord,
    plan: Plan,
    queue_url: str,
    now_ms: int,
    include_body: bool = True,
) -> dict[str, Any]:
    """One message as the lookup returns it; the event only when include_body."""
    entry_fields = None
    entry = _entry_of(plan)
    if entry is not None:
        entry_fields = dict(entry.fields)
        entry_fields["Size"] = entry.size
        if "Time" in entry_fields and record.event is not None:
            entry_fields["Time"] = record.event["time"]  # as received, not as botocore wants it
        if not include_body:
            entry_fields.pop("Detail", None)
    age = None
    if record.sent_timestamp_ms is not None:
        age = round(max(0, now_ms - record.sent_timestamp_ms) / 1000.0, 3)
    destination = plan.destination if isinstance(plan, Keep) else None
    if isinstance(plan, Deliver):
        destination = plan.delivery.destination
    where = destination_fields(destination)
    rule_match = plan.rule_match if isinstance(plan, (Keep, Deliver)) else NOT_CHECKED
    item: dict[str, Any] = {
        "message_id": record.message_id,
        "queue": queue_url,
        "origin": record.origin,
        "event_id": record.event_id,
        "event": record.event if include_body else None,
        "entry": entry_fields,
        "attributes": record.attributes(),
        "receive_count": record.receive_count,
        "sent_at": _iso(record.sent_timestamp_ms),
        "age_seconds": age,
        "redrivable": isinstance(plan, Deliver),
        "reason": plan.failure.describe() if isinstance(plan, Keep) else None,
        "route": where.get("route"),
        "route_reason": plan.route_reason if isinstance(plan, Deliver) else None,
        "target": where.get("target"),
        "event_bus": where.get("event_bus"),
        "payload": _payload(plan) if include_body else None,
        "matches_rule": rule_match.matches,
        "unmatched_field": rule_match.unmatched_field,
        # Why matches_rule is not true: no_longer_matches_rule, rule_not_found, ...
        "rule_check": rule_match.reason,
    }
    if include_body and record.event is None:
        item["body"] = record.body
    return item


def _payload(plan: Plan) -> Optional[str]:
    """What a target would receive; a bus gets the entry (see `entry`)."""
    if isinstance(plan, Deliver) and plan.delivery.entry is None:
        return plan.delivery.payload
    return None


def _entry_of(plan: Plan) -> Optional[Entry]:
    if isinstance(plan, Deliver):
        return plan.delivery.entry
    if isinstance(plan, Keep):
        return plan.entry
    return None
