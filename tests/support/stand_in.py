"""bench/stand_in.py (an O(1) SQS/PutEvents stand-in) in its own process, so its CPU is
not the client's; used by the benchmark and the reliability suite's concurrent runners."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

STAND_IN = Path(__file__).resolve().parents[2] / "bench" / "stand_in.py"


class StandInServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(STAND_IN)], stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()  # type: ignore[union-attr]

    def control(self, action: str, **body: Any) -> dict[str, Any]:
        """The stand-in's own controls (ControlSet, ControlStats); not counted as calls."""
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"X-Amz-Target": f"Bench.{action}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"{}")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> StandInServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
