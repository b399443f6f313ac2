"""Per-provider token buckets, with a pause for a provider that asked us to back off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.capacity = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def take(self, now: float) -> float:
        """Take one token; return how long to wait before using it (0 when available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """`await acquire(provider)` waits until the provider may take one more request."""

    def __init__(self, rates: Mapping[str, float | None], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = {p: _Bucket(r, max(1.0, r)) for p, r in rates.items() if r}
        self._paused_until: dict[str, float] = {}
        self._clock = clock

    async def acquire(self, provider: str) -> None:
        pause = self._paused_until.get(provider, 0.0) - self._clock()
        if pause > 0:
            await asyncio.sleep(pause)
        bucket = self._buckets.get(provider)
        if bucket is not None:
            wait = bucket.take(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)

    def pause(self, provider: str, seconds: float) -> None:
        """Hold every request to `provider` for `seconds` (its Retry-After)."""
        until = self._clock() + seconds
        self._paused_until[provider] = max(self._paused_until.get(provider, 0.0), until)
