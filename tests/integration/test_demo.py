"""`make demo` in its quick form: the whole story runs, ends clean and fast, and shows
the seed case redriven on the bus and to the failed targets side by side."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from tests.support.ansible_run import REPO


def row(out: str, queue: str) -> tuple[int, int]:
    """(bus mode, target mode) counts of one line of the who-received-what table."""
    match = re.search(rf"^{queue}\s.*?\s(\d+)\s+(\d+)$", out, re.MULTILINE)
    assert match, f"no row for {queue} in:\n{out[-2000:]}"
    return int(match.group(1)), int(match.group(2))


def test_demo_tells_the_whole_story_quickly() -> None:
    started = time.monotonic()
    demo = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = demo.stdout
    # On the bus: the aws.s3 events stay (their rule would not match), the healthy
    # analytics rule gets the orders again. To the target: each failed target, once.
    assert row(out, "ingest") == (0, 3)
    assert row(out, "audit") == (0, 0)
    assert row(out, "billing") == (5, 5)
    assert row(out, "analytics") == (5, 0)
    assert row(out, "DLQ") == (4, 1)
    assert "real run (auto): redriven 8, duplicates skipped 1, kept 1" in out
    assert "real run (bus): redriven 5, duplicates skipped 1, kept 4" in out
    assert out.count("second run: changed=False") == 2
    assert "no_longer_matches_rule" in out
    assert 'billing received (the InputTransformer applied): {"order": "ORD-' in out
    assert "no: invalid_json" in out  # the AWS CLI peek of what is left
    assert elapsed < 90
