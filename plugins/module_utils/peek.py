# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only looks at a DLQ: the lookup/CLI listing and the check-mode preview.

Neither deletes or sends anything. They differ in one way:
- `scan` lists messages one by one, so it must hide each message it has seen
  (a short visibility timeout) to reach the next ones, and makes them all
  visible again before it returns;
- `preview` (check mode) must not hide anything: it is the real run's pipeline with a
  dispatcher and a settler that make no call, receiving with a visibility timeout of 0
  and inspecting the distinct messages SQS shows it.
Both raise ApproximateReceiveCount: SQS counts every receive.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .aws import Clients
from .engine import Redrive, RedriveSettings
from .ledger import Handle
from .planning import Filtered, Plan, Planner
from .queue_ops import QueueOps
from .records import DlqRecord, parse_message

SCAN_VISIBILITY_SECONDS = 60
# A preview without max_messages inspects at least this many messages.
PREVIEW_MESSAGES = 1000


def scan(
    clients: Clients,
    queue_url: str,
    planner: Planner,
    max_messages: int,
    wait_seconds: int = 1,
    count_call: Callable[[str], None] = lambda action: None,
    clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> list[tuple[DlqRecord, Plan]]:
    """Up to max_messages selected records with their plans; queue left as found."""
    queue = QueueOps(clients.sqs, queue_url, count_call)
    seen: dict[str, DlqRecord] = {}
    selected: list[tuple[DlqRecord, Plan]] = []
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
                plan = planner.decide(record, now_ms)
                if not isinstance(plan, Filtered) and len(selected) < max_messages:
                    selected.append((record, plan))
    finally:
        if seen:
            queue.release([_handle(record) for record in seen.values()])
    return selected


def _handle(record: DlqRecord) -> Handle:
    return Handle(record.message_id, record.receipt_handle)


def preview(
    clients: Clients,
    settings: RedriveSettings,
    depth: Optional[int] = None,
) -> dict[str, Any]:
    """What a real run would do, reported in the real run's result shape, plus
    `messages`: per message, what would happen to it.

    Nothing is hidden, so on a large queue SQS shows a sample: `inspected` says how many
    distinct messages were seen and `complete` whether that covers the queue's depth.
    """
    limit = settings.max_messages or max(depth or 0, PREVIEW_MESSAGES)
    result = Redrive(clients, settings, preview=True, preview_limit=limit).run()
    result["inspected"] = result["received"]
    result["complete"] = depth is not None and result["received"] >= depth
    return result
