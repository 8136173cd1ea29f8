"""The full reliability suite (`make reliability`): every scenario at its published size.
Figures go to tests/output/reliability/reliability.md; `make reliability` publishes them as
docs/reliability.md when the whole suite passed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.reliability import scenarios
from tests.reliability.report import Report
from tests.support.world import World

SEEDS = range(5)
KILLS = range(12)  # per way of running: 24 kills in all
FAULTS = [*scenarios.FAULTS, "all together"]
OUTCOMES: Counter[str] = Counter()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_loses_nothing(world: World, report: Report, fault: str, seed: int) -> None:
    row = scenarios.fault_run(world, fault, seed, count=60)
    report.add("faults", {"fault": fault, "seed": seed, **row})


@pytest.mark.parametrize("number", KILLS)
@pytest.mark.parametrize("via", ["module", "cli"])
def test_sigkill_then_rerun_loses_nothing(
    world: World, report: Report, tmp_path: Path, via: str, number: int
) -> None:
    row = scenarios.kill_run(world, tmp_path, via, number, count=40)
    report.add("kills", {"via": via, "number": number, **row})


def test_eight_concurrent_runners_on_5000_messages(report: Report, tmp_path: Path) -> None:
    contention = scenarios.Contention(8, 5_000, latency=0.3, slow_every=10, slow_puts=12)
    report.add("concurrent", scenarios.concurrent_runners(contention, seed_value=1, base=tmp_path))


@settings(max_examples=10_000, database=None)
@given(scenarios.hostile_messages())
def test_generated_messages_are_put_or_kept_with_a_reason(message: dict) -> None:
    OUTCOMES[scenarios.judge_message(message)] += 1


def test_generated_messages_counted(report: Report) -> None:
    """Runs after the property test (file order) and publishes its outcome counts."""
    assert sum(OUTCOMES.values()) >= 10_000, OUTCOMES
    report.outcomes.update(OUTCOMES)


def test_hostile_options_fail_clearly_and_mutate_nothing(
    world: World, report: Report, tmp_path: Path
) -> None:
    for row in scenarios.hostile_options(world):
        report.add("hostile", row)
    error = scenarios.no_credentials_cli(world, tmp_path)
    report.add("hostile", {"case": "no credentials (CLI)", "error": error, "mutating_calls": 0})


def test_secrets_stay_out_of_output(world: World, report: Report, tmp_path: Path) -> None:
    for row in scenarios.secrets(world, tmp_path):
        report.add("secrets", row)
