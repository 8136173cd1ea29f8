"""The reliability suite's figures: collected per scenario, written as one Markdown report."""

from __future__ import annotations

import json
import platform
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Union

Row = dict[str, Any]


@dataclass
class Report:
    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, scenario: str, row: Row) -> None:
        self.rows[scenario].append(row)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "figures.json").write_text(
            json.dumps({"rows": self.rows, "outcomes": self.outcomes}, indent=1, default=str)
        )
        path = directory / "reliability.md"
        path.write_text(render(self))
        return path


def _table(header: list[str], lines: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(cell) for cell in line) + " |" for line in lines]
    return "\n".join(out)


FAULT_SUMS = [
    ("messages", "messages"),
    ("delivered in faulty run", "delivered_in_fault_run"),
    ("kept by faulty run", "kept_after_fault_run"),
    ("delivered after rerun", "delivered"),
    ("kept (poison)", "kept"),
    ("lost", "lost"),
    ("duplicates", "duplicates"),
    ("of which one message put twice", "redelivered"),
    ("delete failures reported", "delete_failures"),
    ("PutEvents answers dropped", "dropped_put_answers"),
]


def _faults(rows: list[Row]) -> str:
    by_fault: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_fault[row["fault"]].append(row)
    lines = [
        [fault, len(runs), *(sum(r[key] for r in runs) for _header, key in FAULT_SUMS)]
        for fault, runs in by_fault.items()
    ]
    return _table(["fault", "seeds", *(header for header, _key in FAULT_SUMS)], lines)


def _kills(rows: list[Row]) -> str:
    lines = []
    for via in sorted({r["via"] for r in rows}):
        runs = [r for r in rows if r["via"] == via]
        duplicates = [r["duplicates"] for r in runs]
        redelivered = [r["redelivered"] for r in runs]
        lines.append(
            [
                via,
                len(runs),
                sum(1 for r in runs if r["mid_run"]),
                sum(r["messages"] for r in runs),
                sum(r["delivered_before_rerun"] for r in runs),
                sum(r["lost"] for r in runs),
                sum(duplicates),
                sum(redelivered),
                f"{max(redelivered)} (bound {runs[0]['in_flight_bound']})",
                f"{min(duplicates)} / {sum(duplicates) / len(runs):.1f} / {max(duplicates)}",
            ]
        )
    return _table(
        [
            "redrive run by",
            "kills",
            "killed mid-run (after the first accepted put)",
            "messages",
            "delivered before kill",
            "lost",
            "duplicates",
            "of which one message put twice",
            "most put twice by one kill (bound: 10 per worker)",
            "duplicates per kill (min / mean / max)",
        ],
        lines,
    )


# (heading, a row's key or how to show the row)
CONCURRENT_FIGURES: list[tuple[str, Union[str, Callable[[Row], str]]]] = [
    (
        "runners (separate `aws` processes) × workers each",
        lambda r: f"{r['runners']} × {r['concurrency']}",
    ),
    ("visibility timeout", lambda r: f"{r['visibility_timeout']} s"),
    ("latency added to every call", lambda r: f"{r['latency']} s"),
    (
        "PutEvents calls answered only after more than the visibility timeout",
        lambda r: (
            f"{r['slow_puts']} (every {r['slow_every']}th call until then, "
            f"after {r['latency'] + r['slow_seconds']:g} s)"
        ),
    ),
    ("shortest / longest run", lambda r: f"{r['shortest_run']} s / {r['seconds']} s"),
    ("messages", "messages"),
    ("extra DLQ copies of an event", "dlq_copies"),
    ("redrivable events", "events"),
    ("delivered", "delivered"),
    ("kept (poison, by id: in the DLQ or quarantined)", "kept"),
    ("lost", "lost"),
    ("duplicates (all from extra DLQ copies)", "duplicates"),
    ("visibility extensions", "extensions"),
    (
        "messages held past their visibility timeout, then deleted by their runner",
        "held_past_timeout",
    ),
    ("messages received by more than one runner", "received_by_several"),
    ("messages put or deleted by more than one runner", "handled_by_several"),
    ("poison messages quarantined twice", "quarantined_twice"),
]


def _concurrent(rows: list[Row]) -> str:
    """One column per run: the figures are many, the runs few."""
    lines = [
        [header, *(key(row) if callable(key) else row[key] for row in rows)]
        for header, key in CONCURRENT_FIGURES
    ]
    return _table(["", *(f"run {number}" for number in range(1, len(rows) + 1))], lines)


def _hostile(rows: list[Row]) -> str:
    lines = [[r["case"], f"`{_short(r['error'])}`", r["mutating_calls"]] for r in rows]
    return _table(["case", "error (first line, shortened)", "mutating calls"], lines)


def _short(text: str, limit: int = 110) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(none)"
    line = line.replace("|", "\\|").replace("`", "'")
    return line if len(line) <= limit else line[: limit - 1] + "…"


METHOD = """\
## How it is counted

Each run seeds a fresh DLQ with realistic messages: `aws.s3` events as CloudTrail delivers
them and custom `com.example.*` events with Japanese text, in EventBridge rule-target,
Lambda DLQ and Lambda on-failure destination shapes; about 8 % extra copies of an event
id already in the queue (one per failed target); poison messages (a body that is not
JSON, a `detail` that is not an object, a missing `detail-type`) and entries AWS refuses
for good (the fault proxy answers `InvalidArgument` for them).

The redrive runs with `marker_field: _redrive`, so every delivered event carries its
original event id. Afterwards the suite reads the capture queue behind a rule on the target
bus, the DLQ and the quarantine queue, and counts:

- **delivered**: redrivable event ids seen on the capture queue, each checked for an
  unchanged `detail`, `detail-type`, `resources`, `time` and a kept or `redrive.`-prefixed
  `source`;
- **kept**: messages still in the DLQ, or in the quarantine queue with a `REDRIVE_REASON`;
- **lost**: an event neither delivered nor kept, or a poison message neither in the DLQ
  nor in quarantine. Every run asserts lost = 0;
- **duplicates**: deliveries beyond the first of one event id. They are allowed only where
  the client cannot know an entry was accepted: a PutEvents answer lost on the wire, or a
  kill between PutEvents and DeleteMessageBatch.

Faults come from the loopback fault proxy in `tests/support/fault_proxy.py`, in front of
a moto server; it also enforces what AWS enforces and moto does not (`aws.*` sources, the
256 KiB request limit, non-object `Detail`, distinct batch ids, stale receipt handles).
Concurrent runners use the O(1) SQS/PutEvents stand-in of `bench/stand_in.py` instead,
because moto's queue is O(n) per receive; it records every accepted entry's marker and,
per message id, which runner received, extended, put and deleted it."""


CONCURRENT = """\
Each runner is its own `aws eventbridge-dlq redrive` process (concurrency 2, a
`quarantine_queue`, a 10 s visibility timeout: the least the module accepts), all started
at the same moment on the same queue. The stand-in answers every call after a fixed
latency, so that every run lasts more than three visibility timeouts (asserted), and
answers some PutEvents calls early in the run only after more than a visibility timeout,
as under throttling back-off. A message whose visibility runs out is visible again at
once, ahead of messages not yet received, so while a runner waits on such a call, the
messages it holds stay hidden from the other runners only because its heartbeat extends
them. The stand-in tells runners apart by the access key id that signed each call.

Asserted per message id: no message was put or deleted by more than one runner, no event
id was delivered more often than the DLQ held copies of it, nothing was lost, and every
poison message is either still in the DLQ or quarantined exactly once. The runs did
contend: messages were held past their visibility timeout and then deleted by the runner
that held them (asserted to be more than none). With the heartbeat's extensions switched
off, the scenario fails: the messages of the slow calls reappear, and another runner puts
or quarantines them again.

One run puts each event id once even when the DLQ holds several copies of it; separate
runs share no state, so when two runners receive two copies of one event, both put it.
Those are the duplicates counted here: they come from extra DLQ copies, not from one
message being redriven twice (the stand-in refuses nothing, so entries AWS would refuse
count as redrivable here)."""


def render(report: Report) -> str:
    rows = report.rows
    parts = [
        "# Reliability figures",
        "",
        "Generated by `make reliability` (the full suite in `tests/reliability/`) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}. A run that loses a message fails the suite, so "
        "this file is only written by a passing run.",
        "",
        METHOD,
    ]
    if rows.get("faults"):
        parts += [
            "",
            "## 1. Faults (each alone, then all together), then a quiet rerun",
            "",
            _faults(rows["faults"]),
        ]
    if rows.get("kills"):
        parts += ["", "## 2. SIGKILL at a random moment, then a rerun", "", _kills(rows["kills"])]
    if rows.get("concurrent"):
        parts += [
            "",
            "## 3. Concurrent runners on one DLQ",
            "",
            CONCURRENT,
            "",
            _concurrent(rows["concurrent"]),
        ]
    if report.outcomes:
        total = sum(report.outcomes.values())
        lines = [[outcome, count] for outcome, count in report.outcomes.most_common()]
        parts += [
            "",
            f"## 4. Generated DLQ messages through parse/transform ({total} examples)",
            "",
            "No exception escaped; every message is put or kept with a specific reason:",
            "",
            _table(["outcome", "examples"], lines),
        ]
    if rows.get("hostile"):
        parts += ["", "## 5. Hostile options", "", _hostile(rows["hostile"])]
    if rows.get("secrets"):
        parts += ["", "## 6. Secrets", ""]
        parts += [f"- {r['check']}: {r['found']}" for r in rows["secrets"]]
    return "\n".join(parts) + "\n"
