"""The dispatcher: asyncio workers that drain the outbox through the provider adapters.

Claims due deliveries under a lease, sends each through its provider (rate-limited), records
every attempt (and audits it, `delivery.attempt`, in the same transaction), retries transient
failures by the `RetryPolicy`, never retries permanent ones, and dead-letters what it gives up on.
A crash loses nothing: claimed rows come due again when their lease runs out, and are sent again
with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from app.domain.clock import Clock, utcnow
from app.domain.records import ClaimedDelivery, Settlement
from app.domain.routing import Routing
from app.providers.base import ProviderAdapter
from app.services.attempts import AttemptRunner, DispatchStats, attempt_entry
from app.services.breaker import CircuitBreaker
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus
from app.services.ratelimit import RateLimiter
from app.services.retry import RetryPolicy
from app.storage import audit, outbox
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)


class Dispatcher:
    """Owns the claim loop and the send tasks; `start()` once, `stop()` to finish cleanly."""

    def __init__(
        self,
        db: Database,
        adapters: Mapping[str, ProviderAdapter],
        bus: EventBus,
        *,
        policy: RetryPolicy | None = None,
        rates: Mapping[str, float | None] | None = None,
        routing: Routing | None = None,
        breaker: CircuitBreaker | None = None,
        concurrency: int = 16,
        claim_batch: int = 128,
        lease: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        owner: str | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        limiter = RateLimiter(
            rates if rates is not None else {pid: a.capabilities.rate_per_sec for pid, a in adapters.items()}
        )
        self.breaker = breaker or CircuitBreaker()
        self.stats = DispatchStats()
        self._runner = AttemptRunner(
            dict(adapters),
            routing or Routing(),
            policy or RetryPolicy(),
            limiter,
            self.breaker,
            self.stats,
            clock=clock,
            rng=rng or random.Random(),
        )
        self._concurrency = concurrency
        self._claim_batch = claim_batch
        self._lease = lease
        self._idle_poll = idle_poll
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._skip_locked = db.dialect == "postgresql"
        self._wake = asyncio.Event()
        self._want_more = asyncio.Event()
        self._ready: asyncio.Queue[ClaimedDelivery | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._settler_task: asyncio.Task[None] | None = None
        self._settled: list[tuple[ClaimedDelivery, Settlement]] = []
        self._settle_ready = asyncio.Event()
        self._stopping = False
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        """Start claiming and sending; a stopped dispatcher can be started again."""
        if self._loop_task is not None:
            return
        self._stopping = False
        self._unsubscribe = self._bus.subscribe(DeliveriesQueued, lambda _e: self.wake())
        self._loop_task = self._own(self._claim_loop(), "dispatcher-claims")
        self._settler_task = self._own(self._settle_loop(), "dispatcher-settlements")
        for n in range(self._concurrency):
            self._tasks.add(self._own(self._worker(), f"dispatcher-worker-{n}"))

    def wake(self) -> None:
        """Look for due work now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming, finish the sends in flight, hand back claims not yet sent, and settle."""
        if self._loop_task is None:
            return
        self._stopping = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._wake.set()
        self._want_more.set()
        await self._loop_task
        self._loop_task = None
        unsent: list[ClaimedDelivery] = []
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if item is not None:
                unsent.append(item)
        for _ in self._tasks:
            self._ready.put_nowait(None)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if unsent:
            await self._db.write(lambda s: outbox.release(s, [(c.id, c.attempt) for c in unsent], now=self._clock()))
        assert self._settler_task is not None
        self._settle_ready.set()
        await self._settler_task
        self._settler_task = None

    def _own(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(_log_failure)
        return task

    async def _claim_loop(self) -> None:
        """Keep up to two batches of claimed deliveries ready, so workers never wait on the database."""
        while not self._stopping:
            room = 2 * self._concurrency - self._ready.qsize()
            if room < self._concurrency:
                self._want_more.clear()
                await self._want_more.wait()
                continue
            self._wake.clear()
            try:
                claimed = await self._claim(min(room, self._claim_batch))
            except Exception:
                log.exception("claiming deliveries failed; trying again shortly")
                await asyncio.sleep(self._idle_poll)
                continue
            for claim in claimed:
                self._ready.put_nowait(claim)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll)

    async def _claim(self, limit: int) -> list[ClaimedDelivery]:
        now = self._clock()
        return await self._db.write(
            lambda s: outbox.claim_due(
                s, owner=self.owner, now=now, lease=self._lease, limit=limit, skip_locked=self._skip_locked
            )
        )

    async def _worker(self) -> None:
        while True:
            claim = await self._ready.get()
            if claim is None:
                return
            if self._ready.qsize() < self._concurrency:
                self._want_more.set()
            self.stats.in_flight += 1
            try:
                await self._deliver(claim)
            finally:
                self.stats.in_flight -= 1

    async def _deliver(self, claim: ClaimedDelivery) -> None:
        try:
            settlement = await self._runner.run(claim)
        except Exception:  # the claim stays `sending`; its lease runs out and it is tried again
            log.exception("delivery %s could not be attempted", claim.id)
            return
        self._settled.append((claim, settlement))
        self._settle_ready.set()

    async def _settle_loop(self) -> None:
        """Write every settled attempt back to the outbox, many per transaction."""
        while True:
            await self._settle_ready.wait()
            self._settle_ready.clear()
            batch, self._settled = self._settled, []
            if batch:
                await self._write_settlements(batch)
            elif self._stopping:
                return

    async def _write_settlements(self, batch: list[tuple[ClaimedDelivery, Settlement]]) -> None:
        def job(session: UnitOfWork) -> list[Settlement]:
            """The attempts, their deliveries' new states and their audit entries: one transaction, one head lock."""
            landed = outbox.settle(session, [settlement for _, settlement in batch])
            tried = {(settlement.delivery_id, settlement.attempt) for settlement in landed if settlement.counts}
            audit.append_many(session, [attempt_entry(c, s) for c, s in batch if (s.delivery_id, s.attempt) in tried])
            return landed

        try:
            landed = await self._db.write(job)
        except Exception:  # the rows stay `sending`; their lease runs out and they are tried again
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        landed_ids = {settlement.delivery_id for settlement in landed}
        for claim, settlement in batch:
            if claim.id in landed_ids and log.isEnabledFor(logging.INFO):
                _log_settled(claim, settlement)
            if claim.id in landed_ids and claim.receipt_id is not None:
                self._bus.publish(
                    DeliveryChanged(
                        claim.id,
                        claim.receipt_id,
                        claim.channel,
                        claim.provider,
                        settlement.new_state,
                        settlement.error,
                    )
                )


def _log_settled(claim: ClaimedDelivery, settlement: Settlement) -> None:
    """One line per settled attempt, with ids, channel, provider and state: never a contact or its text."""
    log.info(
        "delivery settled: %s of receipt %s, %s via %s, attempt %d %s, now %s",
        claim.id,
        claim.receipt_id or "-",
        claim.channel,
        settlement.provider,
        settlement.attempt,
        settlement.outcome,
        settlement.new_state.value,
        extra={
            "event": "delivery.settled",
            "delivery_id": claim.id,
            "receipt_id": claim.receipt_id,
            "channel": str(claim.channel),
            "provider": settlement.provider,
            "attempt": settlement.attempt,
            "outcome": settlement.outcome,
            "state": settlement.new_state.value,
            "status_code": settlement.status_code,
        },
    )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())
