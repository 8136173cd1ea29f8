"""`make demo` in its quick form: the whole story runs, ends clean and fast."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.support.ansible_run import REPO


def test_demo_tells_the_whole_story_quickly() -> None:
    started = time.monotonic()
    demo = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = demo.stdout
    assert "check mode: would redrive 8, keep 1, changed=True" in out
    assert "real run: redriven 8, duplicates skipped 1" in out
    assert "second run: changed=False" in out
    assert "received 8 redriven events" in out
    assert "no: invalid_json" in out  # the AWS CLI peek of what is left
    assert elapsed < 60
