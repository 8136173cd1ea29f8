"""One measured redrive, in its own process so its CPU and peak RSS are its own.

    python bench/client.py MODE URL CONCURRENCY [DELIVER_TO]

MODE is `engine` (this project's engine, with `deliver_to` DELIVER_TO: auto,
target or bus; auto by default), `naive` (the usual hand-written loop: receive
10, put them all with one fixed source, delete the batch only if no entry
failed) or `ceiling` (receive and delete only: what the stand-in and the
machine allow at this concurrency). Every client has the engine's botocore
Config. Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.ansible_run import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root(REPO / "bench" / "results")))

QUEUE = "dlq"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def _client(service: str, url: str, pool: int) -> Any:
    """A client configured as the engine configures its own (aws.client_config)."""
    from ansible_collections.redrive.eventbridge.plugins.module_utils import aws

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        config=aws.client_config(pool),
        **CREDENTIALS,
    )


def naive(url: str, concurrency: int, deliver_to: str) -> int:
    """The blog algorithm, one loop (concurrency is ignored on purpose)."""
    sqs, events = _client("sqs", url, 1), _client("events", url, 1)
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return handled
        entries = []
        for message in messages:
            event = json.loads(message["Body"])
            entries.append(
                {
                    "Source": "redrive.dlq",
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": "default",
                }
            )
        response = events.put_events(Entries=entries)
        if response["FailedEntryCount"] == 0:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
            handled += len(messages)


def ceiling(url: str, concurrency: int, deliver_to: str) -> int:
    """Receive and delete with no work in between, on `concurrency` threads."""
    sqs = _client("sqs", url, concurrency)
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    counts = [0] * concurrency

    def work(index: int) -> None:
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
            counts[index] += len(messages)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def engine(url: str, concurrency: int, deliver_to: str) -> int:
    from ansible_collections.redrive.eventbridge.plugins.module_utils import aws, runner

    clients = aws.make_clients(
        aws.ConnectionOptions(
            endpoint_url=url, region="us-east-1", access_key="bench", secret_key="bench"
        ),
        pool_size=2 * concurrency + 2,
    )
    # Short polls: the stand-in never answers empty while messages are visible, so
    # the run's end costs one round trip instead of a long poll (a constant).
    result = runner.execute(
        clients,
        {
            "queue": QUEUE,
            "concurrency": concurrency,
            "wait_seconds": 0,
            "empty_receives": 1,
            "deliver_to": deliver_to,
        },
    )
    if result.get("error") or result["kept"]:
        raise SystemExit(f"the run kept {result['kept']} messages: {result.get('error')}")
    # Copies of an event delivered once are handled too: deleted, not delivered again.
    return int(result["redriven"]) + int(result["duplicates_skipped"])


MODES: dict[str, Callable[[str, int, str], int]] = {
    "naive": naive,
    "ceiling": ceiling,
    "engine": engine,
}


def main() -> None:
    mode, url, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    deliver_to = sys.argv[4] if len(sys.argv) > 4 else "auto"
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Import cost is start-up, not per message (every mode makes its clients with aws).
    from ansible_collections.redrive.eventbridge.plugins.module_utils import runner  # noqa: F401

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    handled = MODES[mode](url, concurrency, deliver_to)
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "mode": mode,
                "concurrency": concurrency,
                "deliver_to": deliver_to if mode == "engine" else None,
                "handled": handled,
                "wall": wall,
                "cpu": cpu,
                "peak_rss_mb": peak / 1024,
                "start_rss_mb": baseline_rss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
