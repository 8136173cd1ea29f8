"""`make bench`: the naive loop and the engine, side by side, in one run.

For each latency (20 ms, 50 ms per call) it seeds the stand-in's DLQ and
redrives it with the naive loop, the engine at concurrency 1, 4, 8 and 16, and
measures the rig's own ceiling (receive + delete only) at each concurrency.
Then it redrives 1k, 10k and 100k messages to show peak RSS stays flat, and
10k through ansible-playbook against the engine alone.

    python bench/run.py [--messages N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.ansible_run import base_env, collections_root  # noqa: E402
from tests.support.events import custom_event, eventbridge_dlq_message, s3_cloudtrail_event  # noqa: E402
from tests.support.stand_in import StandInServer  # noqa: E402

PYTHON = sys.executable
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


class Rig(StandInServer):
    """The stand-in server in its own process, and a client to seed and read it."""

    def __init__(self) -> None:
        super().__init__()
        self.sqs = boto3.client(
            "sqs", endpoint_url=self.url, region_name="us-east-1", **CREDENTIALS
        )
        self.queue_url = self.sqs.create_queue(QueueName="dlq")["QueueUrl"]
        self._bodies = [
            eventbridge_dlq_message(
                custom_event(n) if n % 3 else s3_cloudtrail_event(f"in/{n}.pdf")
            )
            for n in range(100)
        ]

    def _unique(self, number: int) -> dict[str, Any]:
        """A realistic message with an event id of its own (copies would be deduplicated)."""
        template = self._bodies[number % len(self._bodies)]
        event_id = json.loads(template["MessageBody"])["id"]
        body = template["MessageBody"].replace(
            event_id, f"{number:08d}-0000-4000-8000-000000000000"
        )
        return {**template, "MessageBody": body}

    def seed(self, count: int) -> None:
        self.control("ControlSet", latency=0.0)
        for start in range(0, count, 10):
            entries = [
                {"Id": str(i), **self._unique(start + i)} for i in range(min(10, count - start))
            ]
            self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)

    def measure(self, mode: str, concurrency: int, count: int, latency: float) -> dict[str, Any]:
        self.seed(count)
        self.control("ControlSet", latency=latency, reset_counters=True)
        completed = subprocess.run(
            [PYTHON, str(REPO / "bench" / "client.py"), mode, self.url, str(concurrency)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        stats = self.control("ControlStats")
        result["calls"] = sum(stats["calls"].values())
        result["latency"] = latency
        left = int(
            self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        if left:
            raise SystemExit(f"{mode} left {left} messages in the queue")
        return result


def rate(result: dict[str, Any]) -> float:
    return result["handled"] / result["wall"]


def latency_table(
    rig: Rig, count: int, latencies: list[float], concurrencies: list[int]
) -> list[str]:
    lines = [
        "| latency | client | msgs/s | × naive | of bound C×10/(3×lat) | of rig ceiling "
        "| calls/msg | CPU ms/msg | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for latency in latencies:
        naive = rig.measure("naive", 1, count, latency)
        rows = [("naive loop", naive, 1)]
        ceilings = {}
        for concurrency in concurrencies:
            ceilings[concurrency] = rate(rig.measure("ceiling", concurrency, count, latency))
            rows.append(
                (
                    f"engine C={concurrency}",
                    rig.measure("engine", concurrency, count, latency),
                    concurrency,
                )
            )
        for name, result, concurrency in rows:
            bound = concurrency * 10 / (3 * latency)
            ceiling = ceilings.get(concurrency)
            lines.append(
                f"| {latency * 1000:.0f} ms | {name} | {rate(result):.0f} | "
                f"{rate(result) / rate(naive):.2f} | {rate(result) / bound:.0%} | "
                + (f"{rate(result) / ceiling:.0%} ({ceiling:.0f}/s)" if ceiling else "-")
                + f" | {result['calls'] / result['handled']:.3f} | "
                f"{result['cpu'] / result['handled'] * 1000:.2f} | {result['peak_rss_mb']:.1f} |"
            )
        print("\n".join(lines[-len(rows) :]), flush=True)
    return lines


def memory_table(rig: Rig, counts: list[int], concurrency: int) -> list[str]:
    lines = ["| messages | msgs/s | peak RSS MB | CPU ms/msg |", "| --- | --- | --- | --- |"]
    for count in counts:
        result = rig.measure("engine", concurrency, count, 0.0)
        lines.append(
            f"| {count:,} | {rate(result):.0f} | {result['peak_rss_mb']:.1f} | "
            f"{result['cpu'] / result['handled'] * 1000:.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


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
        return time.perf_counter() - started


def ansible_table(rig: Rig, count: int, concurrency: int, latency: float) -> list[str]:
    """The same redrive through ansible-playbook and through the engine alone.

    An ansible-playbook run on an empty queue measures what the Ansible shell
    adds once (start-up, module packaging); what is left is per-message cost.
    """
    direct = rig.measure("engine", concurrency, count, latency)
    through_ansible = _playbook_seconds(rig, count, concurrency, latency)
    start_up = _playbook_seconds(rig, 0, concurrency, latency)
    per_message = through_ansible - start_up
    lines = [
        "| run | seconds | msgs/s |",
        "| --- | --- | --- |",
        f"| engine directly | {direct['wall']:.2f} | {rate(direct):.0f} |",
        f"| ansible-playbook | {through_ansible:.2f} | {count / through_ansible:.0f} |",
        f"| ansible-playbook, empty queue (start-up) | {start_up:.2f} | |",
        f"| ansible-playbook less start-up | {per_message:.2f} | {count / per_message:.0f} |",
        f"| difference less start-up | {per_message - direct['wall']:+.2f} "
        f"({(per_message - direct['wall']) / direct['wall']:+.0%}) | |",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the bench runs")
    parser.add_argument(
        "--part",
        choices=("all", "latency", "memory", "ansible", "patterns"),
        default="all",
        help="run one table only",
    )
    args = parser.parse_args()
    collections_root(REPO / "bench" / "results")
    if args.part == "patterns":  # matching in this process only: no stand-in server
        from bench.patterns import report as patterns_report

        lines = ["## Event-pattern matching", "", *patterns_report()]
        print("\n".join(lines))
        (REPO / "bench" / "results" / "latest-patterns.md").write_text("\n".join(lines) + "\n")
        return
    count = 500 if args.quick else args.messages
    rig = Rig()
    try:
        print(
            f"# Redrive benchmark ({os.cpu_count()} CPUs, {count} messages per run)\n", flush=True
        )
        report: list[str] = []
        if args.part in ("all", "latency"):
            report += ["## Throughput against per-call latency", ""]
            report += latency_table(rig, count, [0.05, 0.02], [1, 4, 8, 16])
        if args.part in ("all", "memory"):
            report += ["", "## Peak RSS as the queue grows (engine, C=8, no added latency)", ""]
            sizes = [1000, 2000] if args.quick else [1000, 10_000, 100_000]
            report += memory_table(rig, sizes, 8)
        if args.part in ("all", "ansible"):
            report += ["", "## ansible-playbook against the engine alone (C=8, 20 ms per call)", ""]
            report += ansible_table(rig, 1000 if args.quick else 10_000, 8, 0.02)
    finally:
        rig.close()
    out = REPO / "bench" / "results" / f"latest-{args.part}.md"
    out.write_text("\n".join(report) + "\n")
    print(f"\nwritten to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
