"""`make bench`: the naive loop and the engine, side by side, in one run.

Every message is a rule-target DLQ record of one rule (`billing-ingest` on the default
bus) with three targets the stand-in knows: an SQS queue, a Lambda function and a Step
Functions state machine. Parts (`--part NAME` runs one):

- latency: for each latency (50 ms, 20 ms per call), the naive loop, then at
  concurrency 1, 4, 8 and 16 the rig's own ceiling (receive + delete only), the engine
  in bus mode and the engine delivering to the SQS target, on the same DLQ contents;
- targets: the Lambda and Step Functions targets (one call per event), same grid;
- memory: peak RSS as the queue grows, 1k → 10k → 100k messages, without and with
  8 % extra copies of events;
- copies: calls per message on a DLQ with 8 % extra copies, C=1 and C=8;
- ansible: 10k messages through ansible-playbook against the engine alone;
- patterns: event-pattern matching speed (in this process, no stand-in).

    python bench/run.py [--messages N] [--quick] [--part NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.ansible_run import base_env, collections_root  # noqa: E402
from tests.support.events import (  # noqa: E402
    ACCOUNT,
    REGION,
    custom_event,
    eventbridge_dlq_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.stand_in import StandInServer  # noqa: E402

PYTHON = sys.executable
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
CONCURRENCIES = (1, 4, 8, 16)
LATENCIES = (0.05, 0.02)
COPY_SHARE = 0.08  # extra copies, as a share of the distinct events

RULE = "billing-ingest"
TARGET_QUEUE = "billing-target"
QUEUE_TARGET = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{TARGET_QUEUE}"
FUNCTION_TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:billing-ingest"
WORKFLOW_TARGET = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:billing-ingest"
# The rule matches on detail-type, so the events bus mode puts back (aws.s3 ones as
# redrive.aws.s3) still match it: both modes move every message, and compare equal work.
RULE_PATTERN = {"detail-type": ["注文確定", "AWS API Call via CloudTrail"]}
TARGETS = [
    {"Id": "queue", "Arn": QUEUE_TARGET},
    {"Id": "function", "Arn": FUNCTION_TARGET},
    {"Id": "workflow", "Arn": WORKFLOW_TARGET},
]


@dataclass(frozen=True)
class Run:
    """One measured redrive: who, how many workers, which target the messages name."""

    mode: str  # engine | naive | ceiling
    concurrency: int
    deliver_to: str = "auto"
    target: str = QUEUE_TARGET
    copies: float = 0.0

    @property
    def receiver(self) -> Optional[str]:
        """Where the stand-in counts what arrived (None: nothing is delivered)."""
        if self.mode == "ceiling":
            return None
        if self.mode == "naive" or self.deliver_to == "bus":
            return "default"
        return TARGET_QUEUE if self.target == QUEUE_TARGET else self.target


class Rig(StandInServer):
    """The stand-in server in its own process, and a client to seed and read it."""

    def __init__(self) -> None:
        super().__init__()
        self.sqs = boto3.client("sqs", endpoint_url=self.url, region_name=REGION, **CREDENTIALS)
        self.queue_url = self.sqs.create_queue(QueueName="dlq")["QueueUrl"]
        self.target_queue_url = self.sqs.create_queue(QueueName=TARGET_QUEUE)["QueueUrl"]
        self.control(
            "ControlSet", rules=[{"name": RULE, "pattern": RULE_PATTERN, "targets": TARGETS}]
        )
        self._templates: dict[str, list[dict[str, Any]]] = {}

    def _template(self, target: str, number: int) -> dict[str, Any]:
        if target not in self._templates:
            self._templates[target] = [
                eventbridge_dlq_message(
                    custom_event(n) if n % 3 else s3_cloudtrail_event(f"in/{n}.pdf"),
                    rule=rule_arn(RULE),
                    target_arn=target,
                )
                for n in range(100)
            ]
        templates = self._templates[target]
        return templates[number % len(templates)]

    def _message(self, target: str, number: int) -> dict[str, Any]:
        """A realistic message whose event id is `number`'s own."""
        template = self._template(target, number)
        event_id = json.loads(template["MessageBody"])["id"]
        body = template["MessageBody"].replace(
            event_id, f"{number:08d}-0000-4000-8000-000000000000"
        )
        return {**template, "MessageBody": body}

    def seed(self, count: int, target: str = QUEUE_TARGET, copies: float = 0.0) -> int:
        """`count` messages; with `copies`, that share of extra copies of events (each a
        few dozen messages after its original, as at-least-once delivery leaves them).
        Returns the number of distinct events."""
        self.control("ControlSet", latency=0.0)
        self.sqs.purge_queue(QueueUrl=self.target_queue_url)
        order = copy_order(count, copies)
        for start in range(0, count, 10):
            entries = [
                {"Id": str(i), **self._message(target, number)}
                for i, number in enumerate(order[start : start + 10])
            ]
            self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(set(order))

    def measure(self, run: Run, count: int, latency: float) -> dict[str, Any]:
        distinct = self.seed(count, run.target, run.copies)
        self.control("ControlSet", latency=latency, reset_counters=True)
        completed = subprocess.run(
            [
                PYTHON,
                str(REPO / "bench" / "client.py"),
                run.mode,
                self.url,
                str(run.concurrency),
                run.deliver_to,
            ],
            capture_output=True,
            text=True,
            check=False,  # a failed run is reported with its stderr below
        )
        if completed.returncode:
            raise SystemExit(f"{run} failed:\n{completed.stderr[-3000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        stats = self.control("ControlStats")
        result.update(
            calls=sum(stats["calls"].values()),
            calls_by_action=stats["calls"],
            delete_sizes=stats["delete_sizes"],
            latency=latency,
            messages=count,
            distinct=distinct,
        )
        depth = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])
        left = sum(
            int(depth["Attributes"][name])
            for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        )
        if left:
            raise SystemExit(f"{run} left {left} messages in the queue")
        if run.receiver is not None:
            # Every event arrived, once: the naive loop puts copies again, the engine not.
            wanted = count if run.mode == "naive" else distinct
            got = stats["received_by"].get(run.receiver, 0)
            if got != wanted:
                raise SystemExit(f"{run}: {run.receiver} got {got} events, expected {wanted}")
        return result


def copy_order(count: int, copies: float, seed: int = 0) -> list[int]:
    """Event numbers in DLQ order: distinct events, and `copies` (a share of them) extra
    copies placed 1 to 50 messages after their original."""
    distinct = round(count / (1 + copies))
    rng = random.Random(seed)
    placed = [(float(number), number) for number in range(distinct)]
    for number in rng.sample(range(distinct), count - distinct):
        placed.append((number + rng.uniform(1, 50), number))
    placed.sort()
    return [number for _position, number in placed]


def rate(result: dict[str, Any]) -> float:
    return result["handled"] / result["wall"]


def per_message(result: dict[str, Any]) -> str:
    """calls/msg | CPU ms/msg | peak RSS MB"""
    handled = result["handled"]
    return (
        f"{result['calls'] / handled:.3f} | {result['cpu'] / handled * 1000:.2f} | "
        f"{result['peak_rss_mb']:.1f}"
    )


def lookups(result: dict[str, Any]) -> str:
    calls = result["calls_by_action"]
    names = ("DescribeEventBus", "DescribeRule", "ListTargetsByRule")
    return ", ".join(f"{name} {calls[name]}" for name in names if calls.get(name)) or "none"


def latency_table(
    rig: Rig, count: int, latencies: Sequence[float], concurrencies: Sequence[int]
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        "| latency | client | msgs/s | × naive | of bound C×10/(3×lat) | of rig ceiling "
        "| calls/msg | CPU ms/msg | peak RSS MB | target/bus |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    raw: list[dict[str, Any]] = []
    for latency in latencies:
        naive = rig.measure(Run("naive", 1), count, latency)
        rows: list[tuple[str, dict[str, Any], int, str]] = [("naive loop", naive, 1, "-")]
        ceilings: dict[int, float] = {}
        for concurrency in concurrencies:
            ceilings[concurrency] = rate(rig.measure(Run("ceiling", concurrency), count, latency))
            bus = rig.measure(Run("engine", concurrency, "bus"), count, latency)
            target = rig.measure(Run("engine", concurrency, "target"), count, latency)
            rows.append((f"engine bus C={concurrency}", bus, concurrency, "-"))
            rows.append(
                (
                    f"engine target (SQS) C={concurrency}",
                    target,
                    concurrency,
                    f"{rate(target) / rate(bus):.0%}",
                )
            )
        for name, result, concurrency, ratio in rows:
            bound = concurrency * 10 / (3 * latency)
            ceiling = ceilings.get(concurrency)
            lines.append(
                f"| {latency * 1000:.0f} ms | {name} | {rate(result):.0f} | "
                f"{rate(result) / rate(naive):.2f} | {rate(result) / bound:.0%} | "
                + (f"{rate(result) / ceiling:.0%} ({ceiling:.0f}/s)" if ceiling else "-")
                + f" | {per_message(result)} | {ratio} |"
            )
            raw.append({"row": name, **result})
        print("\n".join(lines[-len(rows) :]), flush=True)
    lines += [
        "",
        f"Lookups per run (counted in calls/msg): bus mode {lookups(_first(raw, 'bus'))}; "
        f"target mode {lookups(_first(raw, 'target'))}.",
    ]
    return lines, raw


def _first(raw: list[dict[str, Any]], deliver_to: str) -> dict[str, Any]:
    return next(result for result in raw if result.get("deliver_to") == deliver_to)


def one_call_count(concurrency: int, latency: float, seconds: float) -> int:
    """Messages for a run of about `seconds` at the C/latency bound (whole batches)."""
    return max(100, round(concurrency / latency * seconds / 10) * 10)


def targets_table(
    rig: Rig,
    latencies: Sequence[float],
    concurrencies: Sequence[int],
    seconds: float,
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        "| latency | target | C | messages | msgs/s | of bound C/lat | of C×10/(11×lat) "
        "| calls/msg | CPU ms/msg | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    raw: list[dict[str, Any]] = []
    for latency in latencies:
        for name, target in (("Lambda", FUNCTION_TARGET), ("Step Functions", WORKFLOW_TARGET)):
            for concurrency in concurrencies:
                count = one_call_count(concurrency, latency, seconds)
                result = rig.measure(Run("engine", concurrency, "target", target), count, latency)
                # Per worker and batch of 10: one receive, ten calls one after the other;
                # the delete overlaps the next receive.
                structural = concurrency * 10 / (11 * latency)
                lines.append(
                    f"| {latency * 1000:.0f} ms | {name} | {concurrency} | {count:,} | "
                    f"{rate(result):.0f} | {rate(result) / (concurrency / latency):.0%} | "
                    f"{rate(result) / structural:.0%} | {per_message(result)} |"
                )
                raw.append({"row": f"{name} C={concurrency}", **result})
                print(lines[-1], flush=True)
    return lines, raw


def memory_table(
    rig: Rig, counts: Sequence[int], concurrency: int
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        "| messages | extra copies | distinct events | msgs/s | peak RSS MB | CPU ms/msg "
        "| calls/msg |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    raw: list[dict[str, Any]] = []
    for copies in (0.0, COPY_SHARE):
        results = []
        for count in counts:
            result = rig.measure(Run("engine", concurrency, copies=copies), count, 0.0)
            results.append(result)
            calls = result["calls"] / result["messages"]
            lines.append(
                f"| {count:,} | {copies:.0%} | {result['distinct']:,} | {rate(result):.0f} | "
                f"{result['peak_rss_mb']:.1f} | "
                f"{result['cpu'] / result['handled'] * 1000:.2f} | {calls:.3f} |"
            )
            raw.append({"row": f"{count} copies={copies}", **result})
            print(lines[-1], flush=True)
        first, last = results[-2], results[-1]
        grown = (last["peak_rss_mb"] - first["peak_rss_mb"]) * 1024 * 1024
        slope = grown / (last["distinct"] - first["distinct"])
        raw.append({"row": f"slope copies={copies}", "bytes_per_distinct_event": slope})
    lines.append("")
    for copies, row in zip((0.0, COPY_SHARE), [r for r in raw if "bytes_per_distinct_event" in r]):
        lines.append(
            f"- RSS slope {counts[-2]:,} → {counts[-1]:,} messages, {copies:.0%} copies: "
            f"{row['bytes_per_distinct_event']:.0f} bytes per distinct event"
        )
    print("\n".join(lines[-2:]), flush=True)
    return lines, raw


def copies_table(
    rig: Rig, count: int, latency: float, concurrencies: Sequence[int]
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        "| mode | C | messages | distinct events | calls/msg | receives | sends | deletes "
        "| lookups | msgs/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    raw: list[dict[str, Any]] = []
    sends = {"target": "SendMessageBatch", "bus": "PutEvents"}
    for deliver_to in ("target", "bus"):
        for concurrency in concurrencies:
            run = Run("engine", concurrency, deliver_to, copies=COPY_SHARE)
            result = rig.measure(run, count, latency)
            calls = result["calls_by_action"]
            lines.append(
                f"| {deliver_to} | {concurrency} | {count:,} | {result['distinct']:,} | "
                f"{result['calls'] / count:.3f} | {calls.get('ReceiveMessage', 0)} | "
                f"{calls.get(sends[deliver_to], 0)} | {calls.get('DeleteMessageBatch', 0)} | "
                f"{lookups(result)} | {rate(result):.0f} |"
            )
            raw.append({"row": f"{deliver_to} C={concurrency}", **result})
            print(lines[-1], flush=True)
    return lines, raw


def _playbook_seconds(rig: Rig, count: int, concurrency: int, latency: float) -> float:
    rig.seed(count)
    rig.control("ControlSet", latency=latency, reset_counters=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = base_env(Path(tmp), rig.url)
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        playbook = Path(tmp) / "bench.yml"
        playbook.write_text(
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
            "    - redrive.eventbridge.eventbridge_dlq_redrive:\n"
            f"        queue: dlq\n        concurrency: {concurrency}\n"
            "        wait_seconds: 0\n        empty_receives: 1\n"
        )
        started = time.perf_counter()
        subprocess.run(
            [str(Path(PYTHON).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
            env=env,
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
    got = rig.control("ControlStats")["received_by"].get(TARGET_QUEUE, 0)
    if got != count:
        raise SystemExit(f"ansible-playbook delivered {got} of {count} events")
    return seconds


def ansible_table(
    rig: Rig, count: int, concurrency: int, latency: float
) -> tuple[list[str], list[dict[str, Any]]]:
    """The same redrive through ansible-playbook and through the engine alone.

    An ansible-playbook run on an empty queue measures what the Ansible shell
    adds once (start-up, module packaging); what is left is per-message cost.
    """
    direct = rig.measure(Run("engine", concurrency), count, latency)
    through_ansible = _playbook_seconds(rig, count, concurrency, latency)
    start_up = _playbook_seconds(rig, 0, concurrency, latency)
    per_message_seconds = through_ansible - start_up
    difference = per_message_seconds - direct["wall"]
    lines = [
        "| run | seconds | msgs/s |",
        "| --- | --- | --- |",
        f"| engine directly | {direct['wall']:.2f} | {rate(direct):.0f} |",
        f"| ansible-playbook | {through_ansible:.2f} | {count / through_ansible:.0f} |",
        f"| ansible-playbook, empty queue (start-up) | {start_up:.2f} | |",
        f"| ansible-playbook less start-up | {per_message_seconds:.2f} | "
        f"{count / per_message_seconds:.0f} |",
        f"| difference less start-up | {difference:+.2f} ({difference / direct['wall']:+.0%}) | |",
    ]
    print("\n".join(lines), flush=True)
    raw = [{"row": "direct", **direct}, {"row": "ansible", "seconds": through_ansible}]
    raw.append({"row": "start-up", "seconds": start_up})
    return lines, raw


PARTS = ("all", "latency", "targets", "memory", "copies", "ansible", "patterns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the bench runs")
    parser.add_argument("--part", choices=PARTS, default="all", help="run one table only")
    args = parser.parse_args()
    collections_root(REPO / "bench" / "results")
    if args.part == "patterns":  # matching in this process only: no stand-in server
        from bench.patterns import report as patterns_report

        lines = ["## Event-pattern matching", "", *patterns_report()]
        print("\n".join(lines))
        (REPO / "bench" / "results" / "latest-patterns.md").write_text("\n".join(lines) + "\n")
        return
    count = 500 if args.quick else args.messages
    wanted = PARTS[1:-1] if args.part == "all" else (args.part,)
    started = time.perf_counter()
    rig = Rig()
    report: list[str] = []
    raw: dict[str, list[dict[str, Any]]] = {}
    try:
        print(
            f"# Redrive benchmark ({os.cpu_count()} CPUs, {count} messages per run)\n", flush=True
        )
        for part in wanted:
            title, (lines, raw[part]) = _part(rig, part, count, args.quick)
            report += ["", f"## {title}", "", *lines]
            print(f"[{part} done at {time.perf_counter() - started:.0f} s]", flush=True)
    finally:
        rig.close()
    report.append(f"\n{time.perf_counter() - started:.0f} s in all")
    out = REPO / "bench" / "results" / f"latest-{args.part}.md"
    out.write_text("\n".join(report).lstrip() + "\n")
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(REPO)} (raw figures: {out.with_suffix('.json').name})")


def _part(
    rig: Rig, part: str, count: int, quick: bool
) -> tuple[str, tuple[list[str], list[dict[str, Any]]]]:
    if part == "latency":
        title = "Target delivery (SQS) against bus mode and the naive loop, by latency"
        return title, latency_table(rig, count, LATENCIES, CONCURRENCIES)
    if part == "targets":
        title = "Lambda and Step Functions targets (one call per event)"
        return title, targets_table(rig, LATENCIES, CONCURRENCIES, 1.0 if quick else 5.0)
    if part == "memory":
        sizes = [1000, 2000] if quick else [1000, 10_000, 100_000]
        title = "Peak RSS as the queue grows (deliver_to auto → SQS target, C=8, no latency)"
        return title, memory_table(rig, sizes, 8)
    if part == "copies":
        title = "Calls per message with 8 % extra copies (20 ms per call)"
        return title, copies_table(rig, count, 0.02, (1, 8))
    title = "ansible-playbook against the engine alone (C=8, 20 ms per call)"
    return title, ansible_table(rig, 1000 if quick else 10_000, 8, 0.02)


if __name__ == "__main__":
    main()
