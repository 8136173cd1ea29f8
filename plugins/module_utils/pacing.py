# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pace PutEvents across workers: an optional rate limit and a shared back-off."""

from __future__ import annotations

import random
import threading
import time
from typing import Callable, Optional

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential back-off (attempt 0 is the first retry)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2**attempt))
    return ceiling * rng()


class Pacer:
    """A token bucket shared by every worker, plus a cool-down after throttling.

    When PutEvents throttles entries, one worker's back-off is not enough: the
    others would keep the account at its quota. `throttled()` pushes a shared
    "not before" moment forward, so the whole run slows down instead of failing.
    """

    def __init__(
        self,
        rate: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.rate = rate
        self._capacity = max(rate or 0.0, 10.0)
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._updated = clock()
        self._not_before = 0.0
        self._throttle_streak = 0
        self._lock = threading.Lock()

    def acquire(self, tokens: int) -> None:
        """Block until `tokens` entries may be sent."""
        while True:
            with self._lock:
                wait = self._reserve(tokens)
            if wait <= 0:
                return
            self._sleep(wait)

    def _reserve(self, tokens: int) -> float:
        now = self._clock()
        # Tolerances keep float rounding from turning into endless tiny waits.
        if now < self._not_before - 1e-9:
            return self._not_before - now
        if self.rate is None:
            return 0.0
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        needed = min(float(tokens), self._capacity)
        if self._tokens >= needed - 1e-9:
            self._tokens -= needed
            return 0.0
        return (needed - self._tokens) / self.rate

    def throttled(self) -> None:
        with self._lock:
            delay = backoff_delay(self._throttle_streak, self._rng)
            self._throttle_streak = min(self._throttle_streak + 1, 10)
            self._not_before = max(self._not_before, self._clock() + delay)

    def succeeded(self) -> None:
        with self._lock:
            self._throttle_streak = max(self._throttle_streak - 1, 0)
