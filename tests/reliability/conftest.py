"""The full suite collects its figures into one report, written when the session ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.report import Report

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "reliability"


@pytest.fixture(scope="session")
def report() -> Iterator[Report]:
    collected = Report()
    yield collected
    path = collected.write(Path(os.environ.get("RELIABILITY_OUTPUT", OUTPUT)))
    print(f"\nreliability figures: {path}")
