# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only looks at a DLQ: the lookup/CLI listing and the check-mode preview.

Neither deletes or sends anything. They differ in one way:
- `scan` lists messages one by one, so it must hide each message it has seen
  (a short visibility timeout) to reach the next ones, and makes them all
  visible again before it returns;
- `preview` (check mode) must not hide anything, so it receives with a
  visibility timeout of 0 and inspects the distinct messages SQS shows it.
Both raise ApproximateReceiveCount: SQS counts every receive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Callable, Optional

from .aws import Clients
from .engine import Redrive, RedriveSettings
from .entries import Entry
from .outcomes import DUPLICATE, FILTERED_OUT, KEPT, QUARANTINED, REDRIVEN
from .planning import FILTER, KEEP, Decision, Planner
from .queue_ops import QueueOps
from .records import DlqRecord, parse_message

SCAN_VISIBILITY_SECONDS = 60
# Receives with no new message before a preview stops looking.
PREVIEW_STALE_RECEIVES = 3


def scan(
    clients: Clients,
    queue_url: str,
    planner: Planner,
    max_messages: int,
    wait_seconds: int = 1,
    count_call: Callable[[str], None] = lambda action: None,
    clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> list[tuple[DlqRecord, Decision]]:
    """Up to max_messages selected records with their decisions; queue left as found."""
    queue = QueueOps(clients.sqs, queue_url, count_call)
    seen: dict[str, DlqRecord] = {}
    selected: list[tuple[DlqRecord, Decision]] = []
    try:
        while len(selected) < max_messages:
            messages = queue.receive(10, wait_seconds, SCAN_VISIBILITY_SECONDS)
            fresh = [parse_message(message) for message in messages]
            fresh = [record for record in fresh if record.message_id not in seen]
            if not fresh:
                break
            now_ms = clock_ms()
            for record in fresh:
                seen[record.message_id] = record
                decision = planner.decide(record, now_ms)
                if decision.action != FILTER and len(selected) < max_messages:
                    selected.append((record, decision))
    finally:
        if seen:
            queue.release(list(seen.values()))
    return selected


def _distinct_visible(
    queue: QueueOps, limit: int, wait_seconds: int, deadline: Optional[float]
) -> Iterator[DlqRecord]:
    seen: set[str] = set()
    stale = 0
    while len(seen) < limit and stale < PREVIEW_STALE_RECEIVES:
        if deadline is not None and time.monotonic() >= deadline:
            return
        messages = queue.receive(min(10, limit - len(seen)), wait_seconds, 0)
        fresh = [parse_message(message) for message in messages]
        fresh = [record for record in fresh if record.message_id not in seen]
        stale = 0 if fresh else stale + 1
        for record in fresh:
            seen.add(record.message_id)
            yield record


def preview(
    clients: Clients,
    settings: RedriveSettings,
    depth: Optional[int] = None,
) -> dict[str, Any]:
    """What a real run would do, reported in the real run's result shape.

    Nothing is hidden, so on a large queue SQS shows a sample: `inspected`
    says how many distinct messages were seen and `complete` whether that
    covers the queue's depth.
    """
    run = Redrive(clients, settings)
    limit = settings.max_messages or max(depth or 0, 1000)
    deadline = time.monotonic() + settings.max_seconds if settings.max_seconds else None
    seen_events: set[tuple[str, str]] = set()
    inspected = 0
    now_ms = int(time.time() * 1000)
    for record in _distinct_visible(run.queue, limit, settings.wait_seconds, deadline):
        inspected += 1
        run.tally.count("received")
        _tally_preview(run, record, run.planner.decide(record, now_ms), seen_events)
    result = run.tally.result()
    result["inspected"] = inspected
    result["complete"] = depth is not None and inspected >= depth
    result["changed"] = bool(result[REDRIVEN] or result[QUARANTINED] or result[DUPLICATE])
    result["stopped_by"] = "check_mode"
    return result


def _tally_preview(
    run: Redrive, record: DlqRecord, decision: Decision, seen_events: set[tuple[str, str]]
) -> None:
    if decision.action == FILTER:
        run.tally.outcome(record, FILTERED_OUT)
        return
    if decision.action == KEEP:
        kept_as = QUARANTINED if run.settings.quarantine_queue_url else KEPT
        run.tally.outcome(record, kept_as, reason=decision.reason)
        return
    entry: Entry = decision.entry  # type: ignore[assignment]
    if entry.source_rewritten:
        run.tally.count("sources_rewritten")
    key = (record.event_id or record.message_id, entry.bus)
    if run.settings.dedupe and record.event_id is not None and key in seen_events:
        run.tally.outcome(record, DUPLICATE, entry.bus)
        return
    seen_events.add(key)
    run.tally.outcome(record, REDRIVEN, entry.bus)
