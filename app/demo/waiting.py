"""Waiting on a condition the lanes demo cannot be told about (another process's state), with a bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from app.domain.errors import Unavailable

LONGEST = 120.0
"""The longest the demo waits for anything to reach anywhere before it says so."""


async def until(what: str, check: Callable[[], Awaitable[bool]], limit_s: float = LONGEST) -> float:
    """Ask `check()` every 50 ms until it is true; the seconds that took. `Unavailable` saying `what` did not
    happen once `limit_s` have passed (the bound is for a failure only: a passing run waits no longer)."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > limit_s:
            raise Unavailable(f"{what} within {limit_s:.0f} s.")
        await asyncio.sleep(0.05)
    return time.monotonic() - started
