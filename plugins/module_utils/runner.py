# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole redrive from option values: resolve, check, run or preview, report.

The module and the CLI call `execute`; they differ only in how they read
options and show the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from .aws import AwsError, Clients, bus_name, queue_depth, resolve_queue_url
from .engine import Progress, Redrive, error_fields
from .failures import Kind
from .lookups import BusCheck
from .options import entry_options, record_filter, redrive_settings
from .peek import scan
from .planning import Planner, PlanSettings
from .views import message_item


def _check_explicit_bus(clients: Clients, bus: Optional[str]) -> None:
    """A bus the operator named must exist: a typo fails the task before any message moves."""
    if not bus:
        return
    problem = BusCheck(
        lambda region: clients.client("events", region), lambda _action: None
    ).problem(bus)
    if problem is not None and problem.kind is Kind.BUS_MISSING:
        raise AwsError(
            "ResourceNotFoundException",
            problem.message,
            "check the event bus name and the region",
            "DescribeEventBus",
        )


def execute(
    clients: Clients,
    params: Mapping[str, Any],
    dry_run: bool = False,
    progress: Optional[Progress] = None,
) -> dict[str, Any]:
    """Redrive (or, with dry_run, preview) the queue named in params['queue']."""
    # Options are checked before the first call, so a bad value is reported as
    # itself and not as whatever the network said first.
    redrive_settings(params, params["queue"]).validate()
    queue_url = resolve_queue_url(clients.sqs, params["queue"])
    quarantine = params.get("quarantine_queue")
    quarantine_url = resolve_queue_url(clients.sqs, quarantine) if quarantine else None
    settings = redrive_settings(params, queue_url, quarantine_url)
    settings.validate()
    _check_explicit_bus(clients, settings.entry_options.event_bus)
    before = queue_depth(clients.sqs, queue_url)
    if dry_run:
        from .peek import preview

        result = preview(clients, settings, before["visible"])
        moved = result["redriven"] + result["quarantined"] + result["duplicates_skipped"]
        after = {"visible": max(0, before["visible"] - moved), "in_flight": before["in_flight"]}
    else:
        result = Redrive(clients, settings, progress).run()
        try:
            after = queue_depth(clients.sqs, queue_url)
        except AwsError as error:
            # What was already redriven must still be reported.
            after = None
            result.setdefault("error", error_fields(error))
    result.update(
        queue_url=queue_url,
        quarantine_queue_url=quarantine_url,
        check_mode=dry_run,
        queue_depth_before=before,
        queue_depth_after=after,
        event_bus=bus_name(settings.entry_options.event_bus)
        if settings.entry_options.event_bus
        else None,
    )
    return result


def list_messages(
    clients: Clients,
    queues: list[str],
    params: Mapping[str, Any],
    max_messages: int,
    include_body: bool = True,
    now_ms: Optional[int] = None,
) -> list[dict[str, Any]]:
    """The lookup's and `peek`'s items for each queue, leaving the queues as found."""
    import time

    planner = Planner(
        PlanSettings(
            entry_options(params),
            record_filter(params),
            int(params.get("max_request_bytes") or 262144),
        )
    )
    planner.entry_options.validate()
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for queue in queues:
        queue_url = resolve_queue_url(clients.sqs, queue)
        if queue_url in seen:  # the same queue by name and by URL is listed once
            continue
        seen.add(queue_url)
        found: list[tuple[Any, Any]] = scan(clients, queue_url, planner, max_messages)
        stamp = now_ms if now_ms is not None else int(time.time() * 1000)
        items.extend(
            message_item(record, decision, queue_url, stamp, include_body)
            for record, decision in found
        )
    return items


__all__ = ["AwsError", "execute", "list_messages"]
