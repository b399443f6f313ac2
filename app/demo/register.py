"""The kiosk demo's simulated register: a sale through checkout at a pace a person can follow.

`receiptdesk demo --sale-every SECONDS` sets the pace (default 45 s, so each sale's receipt can be
followed from the customer's choice to Delivered before the next one arrives); `0` rings up a sale
only when asked (the demo's "New sale" button). The first sale comes a moment after start, so the
demo never opens on an empty screen unless the pace is 0.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from app.domain.clock import utcnow
from app.domain.errors import ReceiptDeskError
from app.domain.intake import parse_sale
from app.sandbox.pos import make_sale
from app.services.checkout import CheckoutService
from app.triggers.pos import pos_event

log = logging.getLogger(__name__)

DEFAULT_SALE_EVERY = 45.0
"""Seconds between the demo's sales unless `--sale-every` says otherwise."""
MAX_SALE_EVERY = 3600.0
"""The slowest pace the flag takes: an hour (beyond that, 0 and the "New sale" button say it better)."""
FIRST_SALE_AFTER = 2.0
"""Seconds from start to the first sale (when the demo rings up sales by itself)."""

Sleep = Callable[[float], Awaitable[None]]


def sale_every(text: str) -> float:
    """`--sale-every`'s value in seconds: 0 (only when asked) or a pace up to an hour.

    Raises `ValueError` with one line saying what is accepted.
    """
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_SALE_EVERY:
        raise ValueError(
            f"{text} is not a pace the demo takes: give 0 (a sale only when asked) "
            f"or up to {MAX_SALE_EVERY:.0f} seconds between sales"
        )
    return seconds


class DemoRegister:
    """A simulated register ringing up a sale through checkout every `every` seconds (0: only when asked).

    A mix like a real lane: regulars identified by their loyalty card only (the kiosk asks them, and
    remembers their choice when they say so), walk-ins (the kiosk asks), and sales where the register
    already knows the channel (sent straight away). `sleep` is the clock it waits on (tests pass their own).
    """

    def __init__(
        self,
        checkout: CheckoutService,
        *,
        every: float = DEFAULT_SALE_EVERY,
        first_after: float = FIRST_SALE_AFTER,
        lane: str = "1",
        seed: int | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if every < 0:
            raise ValueError("every must be 0 or more seconds")
        self._checkout = checkout
        self.every = every
        self._first_after = first_after
        self._lane = lane
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._regulars = [
            {"name": name, "loyalty_id": f"LM{self._rng.randint(10_000_000, 99_999_999)}"}
            for name in ("Ana Garcia", "James Smith", "Mei Nguyen", "Luis López", "Priya Patel")
        ]
        self._tasks: set[asyncio.Task[None]] = set()
        self.posted = 0

    def start(self) -> None:
        """Start ringing up sales at the pace (nothing to start at pace 0)."""
        if self.every > 0:
            self._spawn(self._run(), "paced")

    def ring_up(self) -> None:
        """Ring up one sale now, besides the pace (the demo's "New sale")."""
        self._spawn(self._post_logged(), "asked")

    async def stop(self) -> None:
        """Stop (a sale being recorded is finished first or cancelled whole)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def payload(self) -> dict[str, Any]:
        """The next sale."""
        sale = make_sale(self._rng, sale_id=f"K{uuid.uuid4().hex[:8].upper()}", lane=self._lane)
        kind = self._rng.random()
        if kind < 0.5:
            regular = dict(self._rng.choice(self._regulars))
            sale["customer"] = regular
            if "loyalty" in sale:
                sale["loyalty"]["member_id"] = regular["loyalty_id"]
        elif kind < 0.75:
            sale.pop("customer", None)
        return sale

    async def post_one(self) -> None:
        """Ring up one sale now and wait until checkout took it."""
        sale = parse_sale(self.payload())
        await self._checkout.accept(pos_event(sale, idempotency_key=None, received_at=utcnow()))
        self.posted += 1

    async def _post_logged(self) -> None:
        try:
            await self.post_one()
        except ReceiptDeskError as exc:
            log.warning("demo register: sale refused: %s", exc.message)

    async def _run(self) -> None:
        await self._sleep(self._first_after)
        while True:
            await self._post_logged()
            await self._sleep(self.every)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"demo-register.{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("demo register: %s failed", task.get_name(), exc_info=task.exception())
