from __future__ import annotations

from ansible_collections.redrive.eventbridge.plugins.module_utils.pacing import (
    BACKOFF_CAP_SECONDS,
    Pacer,
    backoff_delay,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limit_spaces_entries() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=100.0, clock=clock, sleep=clock.sleep)
    for _round in range(30):
        pacer.acquire(10)
    # 100 tokens to start with, then 100 entries/s for the other 200
    assert 1.99 <= clock.now <= 2.01


def test_no_rate_limit_never_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _round in range(1000):
        pacer.acquire(10)
    assert clock.sleeps == []


def test_throttling_slows_every_caller_and_recovers() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _round in range(6):
        pacer.throttled()
    pacer.acquire(1)
    assert clock.now > 0
    waited = clock.now
    for _round in range(20):
        pacer.succeeded()
    pacer.acquire(1)
    assert clock.now == waited


def test_backoff_is_capped_and_jittered() -> None:
    assert backoff_delay(0, lambda: 1.0) == 0.05
    assert backoff_delay(3, lambda: 1.0) == 0.4
    assert backoff_delay(30, lambda: 1.0) == BACKOFF_CAP_SECONDS
    assert backoff_delay(5, lambda: 0.0) == 0.0
