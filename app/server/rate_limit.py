"""A request budget per webhook source and sending address, spent before anything reads the body.

Every request to `/webhooks/...` takes one request from the budget of (its route, the client's address):
`per_minute` a minute, with up to a minute's worth at once (a token bucket). Beyond it the answer is
`429` with `Retry-After` (whole seconds), sent before the body is read, verified, parsed or stored,
so a flood costs a dictionary lookup. A known route (a platform or a provider the API serves) has a
budget of its own; every other path under `/webhooks/` shares one, so made-up paths cannot grow the
table. Addresses are the TCP peer's (the API trusts no forwarding header); the table keeps at most
`max_tracked` buckets and forgets the longest-idle ones first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.server.errors import send_json

PREFIX = "/webhooks/"
OTHER = "/webhooks/*"
MAX_TRACKED = 10_000


class SourceBudget:
    """Token buckets by key; `take` answers 0 when a request may go now, else the seconds to wait."""

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_tracked: int = MAX_TRACKED
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._clock = clock
        self._max_tracked = max_tracked
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: tuple[str, str]) -> float:
        now = self._clock()
        tokens, at = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + max(0.0, now - at) * self._rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._rate
        self._buckets[key] = (tokens, now)  # last used is last in the order
        while len(self._buckets) > self._max_tracked:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


class WebhookRateLimit:
    """ASGI middleware: a request to `/webhooks/...` beyond the budget of its (source, address) is a 429."""

    def __init__(self, app: ASGIApp, budget: SourceBudget, sources: Iterable[str]) -> None:
        self.app = app
        self.budget = budget
        self.sources = frozenset(sources)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not isinstance(path, str) or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        source = path.rstrip("/") if path.rstrip("/") in self.sources else OTHER
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self.budget.take((source, address))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        await send_json(
            send,
            429,
            {"error": f"Too many requests to {source} from {address}; retry after {seconds} s."},
            headers=[(b"retry-after", str(seconds).encode("ascii"))],
        )
