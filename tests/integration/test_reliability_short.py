"""The reliability suite in its short form, part of `make test`: every scenario of
tests/reliability once, at a small size. The published figures come from the full suite
(`make reliability`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.reliability import scenarios
from tests.support.world import World

OUTCOMES: Counter[str] = Counter()


def test_all_faults_together_lose_nothing(world: World) -> None:
    row = scenarios.fault_run(world, "all together", 0, count=40)
    assert row["lost"] == 0 and row["undelivered"] == 0


@pytest.mark.parametrize("via", ["module", "cli"])
def test_sigkill_then_rerun_loses_nothing(world: World, tmp_path: Path, via: str) -> None:
    row = scenarios.kill_run(world, tmp_path, via, 0, count=30)
    assert row["lost"] == 0 and row["undelivered"] == 0


def test_concurrent_runners_each_message_handled_by_one(tmp_path: Path) -> None:
    contention = scenarios.Contention(4, 500, latency=0.75, slow_every=4, slow_puts=6)
    row = scenarios.concurrent_runners(contention, seed_value=2, base=tmp_path)
    assert row["lost"] == 0 and row["handled_by_several"] == 0 and row["held_past_timeout"]


@settings(max_examples=300, database=None)
@given(scenarios.hostile_messages())
def test_generated_messages_are_put_or_kept_with_a_reason(message: dict) -> None:
    OUTCOMES[scenarios.judge_message(message)] += 1


def test_generated_messages_reach_both_outcomes() -> None:
    """The generator is not degenerate: it makes messages that are put and ones kept."""
    assert OUTCOMES["put"] and sum(OUTCOMES.values()) > OUTCOMES["put"], OUTCOMES


def test_hostile_options_fail_clearly_and_mutate_nothing(world: World, tmp_path: Path) -> None:
    rows = scenarios.hostile_options(world)
    assert len(rows) == len(scenarios.HOSTILE) + 3
    assert scenarios.no_credentials_cli(world, tmp_path)


def test_secrets_stay_out_of_output(world: World, tmp_path: Path) -> None:
    assert scenarios.secrets(world, tmp_path)
