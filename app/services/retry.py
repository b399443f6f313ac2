"""The one retry policy: how long to wait, and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter, capped; Retry-After is a floor; bounded by attempts and age."""

    max_attempts: int = 10
    max_age: timedelta = timedelta(hours=48)
    base_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 900.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds before attempt `attempt + 1`: half fixed, half random ("equal jitter")."""
        ceiling = min(self.max_delay, self.base_delay * self.factor ** max(0, attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def decide(
        self, *, attempt: int, created_at: datetime, now: datetime, retry_after: float | None, rng: random.Random
    ) -> RetryDecision:
        """After a transient failure of attempt number `attempt`: retry (and when) or give up."""
        if attempt >= self.max_attempts:
            return RetryDecision(False, 0.0, f"gave up after {attempt} attempts")
        delay = self.backoff(attempt, rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if now + timedelta(seconds=delay) - created_at > self.max_age:
            return RetryDecision(False, 0.0, f"gave up: older than {self.max_age}")
        return RetryDecision(True, delay)
