# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Group entries into PutEvents requests that AWS accepts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

MAX_ENTRIES_PER_REQUEST = 10
DEFAULT_MAX_REQUEST_BYTES = 262144

Item = TypeVar("Item")


@dataclass
class BatchPlan(Generic[Item]):
    """Batches in input order, and the items too large to send at all."""

    batches: list[list[Item]] = field(default_factory=list)
    too_large: list[Item] = field(default_factory=list)


def plan_batches(
    items: Iterable[Item],
    size_of: Callable[[Item], int],
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_entries: int = MAX_ENTRIES_PER_REQUEST,
) -> BatchPlan[Item]:
    """Greedy packing: each batch holds ≤ max_entries and totals < max_bytes.

    AWS wants the request total strictly below the limit, so an item of
    max_bytes or more can never be sent and is set aside.
    """
    plan: BatchPlan[Item] = BatchPlan()
    current: list[Item] = []
    current_bytes = 0
    for item in items:
        size = size_of(item)
        if size >= max_bytes:
            plan.too_large.append(item)
            continue
        if current and (len(current) >= max_entries or current_bytes + size >= max_bytes):
            plan.batches.append(current)
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += size
    if current:
        plan.batches.append(current)
    return plan
