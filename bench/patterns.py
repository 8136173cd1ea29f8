"""Event-pattern matching speed: a 10-condition rule pattern over realistic events.

    python bench/patterns.py [--events N] [--rounds R]
    python bench/run.py --part patterns

The pattern is the kind a rule on CloudTrail S3 events carries: source,
detail-type, account, region, resources and five conditions inside `detail`,
using exact values, prefix, suffix, equals-ignore-case, wildcard,
anything-but and a numeric range. Events are the CloudTrail S3 and custom
shop events of tests/support/events.py. Each row is a different place where
matching stops (or does not). Figures are the best of R rounds, in µs per event.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.ansible_run import collections_root  # noqa: E402
from tests.support.events import custom_event, s3_cloudtrail_event  # noqa: E402

sys.path.insert(0, str(collections_root(REPO / "bench" / "results")))

from ansible_collections.redrive.eventbridge.plugins.module_utils.patterns import (  # noqa: E402
    EventPattern,
)

PATTERN: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": [{"prefix": "AWS API Call"}],
    "account": ["123456789012", "210987654321"],
    "region": [{"anything-but": ["cn-north-1", "cn-northwest-1"]}],
    "resources": [{"wildcard": "arn:aws:s3:::billing-*/*"}],
    "detail": {
        "eventSource": ["s3.amazonaws.com"],
        "eventName": [{"equals-ignore-case": "putobject"}, "CompleteMultipartUpload"],
        "userIdentity": {"type": ["AssumedRole", "IAMUser"]},
        "requestParameters": {"key": [{"suffix": ".pdf"}]},
        "additionalEventData": {"bytesTransferredIn": [{"numeric": [">", 0, "<=", 50_000_000]}]},
    },
}


def _with_detail(event: dict[str, Any], **detail: Any) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], **detail}}


def event_sets(count: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Named sets of events, each stopping the pattern at a different place."""
    s3 = [s3_cloudtrail_event(f"invoices/2026/11/{n:04d}.pdf") for n in range(count)]
    return [
        ("CloudTrail S3, all 10 conditions hold", s3),
        ("CloudTrail S3 re-put as redrive.aws.s3 (stops at 1st)",
         [{**event, "source": "redrive.aws.s3"} for event in s3]),
        ("CloudTrail S3, key .txt (stops at 9th)",
         [_with_detail(event, requestParameters={"bucketName": "billing-inbox",
                                                 "key": f"in/{n}.txt"})
          for n, event in enumerate(s3)]),
        ("CloudTrail S3, 80 MB upload (stops at 10th)",
         [_with_detail(event, additionalEventData={"bytesTransferredIn": 8.0e7})
          for event in s3]),
        ("custom shop events (stops at 1st)", [custom_event(n) for n in range(count)]),
    ]  # fmt: skip


def best_of(rounds: int, run: Callable[[], None], count: int) -> float:
    """Best wall time per event over `rounds` runs, in µs."""
    best = float("inf")
    for _round in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def measure(
    pattern: EventPattern, events: Sequence[dict[str, Any]], rounds: int
) -> tuple[float, float, bool]:
    matches, mismatch = pattern.matches, pattern.mismatch

    def run_matches() -> None:
        for event in events:
            matches(event)

    def run_mismatch() -> None:
        for event in events:
            mismatch(event)

    matched = all(matches(event) for event in events)
    return (
        best_of(rounds, run_matches, len(events)),
        best_of(rounds, run_mismatch, len(events)),
        matched,
    )


def report(count: int = 1000, rounds: int = 21) -> list[str]:
    pattern = EventPattern.parse(PATTERN)
    parse_us = best_of(rounds, lambda: EventPattern.parse(PATTERN), 1)
    lines = [
        f"10-condition pattern, {count} events per set, best of {rounds} rounds "
        f"({os.cpu_count()} CPUs; parse + compile once: {parse_us:.0f} µs)",
        "",
        "| events | result | matches() µs/event | mismatch() µs/event |",
        "| --- | --- | --- | --- |",
    ]
    for name, events in event_sets(count):
        per_match, per_mismatch, matched = measure(pattern, events, rounds)
        result = "match" if matched else str(pattern.mismatch(events[0]))
        lines.append(f"| {name} | {result} | {per_match:.2f} | {per_mismatch:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    print("\n".join(report(args.events, args.rounds)))


if __name__ == "__main__":
    main()
