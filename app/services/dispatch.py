"""The dispatcher: asyncio workers that drain the outbox through the provider adapters.

Claims due deliveries under a lease, sends each through its provider (rate-limited), records
every attempt, retries transient failures by the `RetryPolicy`, never retries permanent ones, and
dead-letters what it gives up on. A crash loses nothing: claimed rows come due again when their
lease runs out, and are sent again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.delivery import DeliveryState, transition
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.records import ClaimedDelivery, Settlement
from app.providers.base import ProviderAdapter
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus
from app.services.ratelimit import RateLimiter
from app.services.retry import RetryPolicy
from app.storage import outbox
from app.storage.database import Database

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ProviderStats:
    """What the dispatcher saw of one provider since start (for health)."""

    sent: int = 0
    failed: int = 0
    transient: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.last_error_at is None:
            return "ok"
        if self.last_ok_at is None or self.last_error_at > self.last_ok_at:
            return "failing"
        return "ok"


@dataclass(slots=True)
class DispatchStats:
    providers: dict[str, ProviderStats] = field(default_factory=dict)
    in_flight: int = 0

    def provider(self, name: str) -> ProviderStats:
        return self.providers.setdefault(name, ProviderStats())


def build_message(claim: ClaimedDelivery) -> OutboundMessage:
    """The normalised message for one claimed delivery."""
    meta = {"receipt_id": claim.receipt_id, "sale_id": claim.sale_id, "delivery_id": claim.id}
    if claim.channel is Channel.SMS:
        return OutboundMessage(
            Channel.SMS, claim.recipient, claim.idempotency_key, sms_body=claim.sms_body, metadata=meta
        )
    return OutboundMessage(
        claim.channel,
        claim.recipient,
        claim.idempotency_key,
        subject=claim.subject,
        html=claim.html,
        text=claim.text,
        metadata=meta,
    )


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
        concurrency: int = 16,
        claim_batch: int = 128,
        lease: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        owner: str | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._adapters = dict(adapters)
        self._bus = bus
        self._policy = policy or RetryPolicy()
        self._limiter = RateLimiter(
            rates if rates is not None else {pid: a.capabilities.rate_per_sec for pid, a in self._adapters.items()}
        )
        self._concurrency = concurrency
        self._claim_batch = claim_batch
        self._lease = lease
        self._idle_poll = idle_poll
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._rng = rng or random.Random()
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
        self.stats = DispatchStats()
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
            settlement = await self._attempt(claim)
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
        try:
            landed = await self._db.write(lambda s: outbox.settle(s, [settlement for _, settlement in batch]))
        except Exception:  # the rows stay `sending`; their lease runs out and they are tried again
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        landed_ids = {settlement.delivery_id for settlement in landed}
        for claim, settlement in batch:
            if claim.id in landed_ids:
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

    async def _attempt(self, claim: ClaimedDelivery) -> Settlement:
        started = self._clock()
        stats = self.stats.provider(claim.provider)
        adapter = self._adapters.get(claim.provider)
        if adapter is None:
            return self._settle(
                claim,
                started,
                "permanent",
                DeliveryState.FAILED,
                error=f"Provider {claim.provider!r} is not configured.",
                reason="provider not configured",
            )
        await self._limiter.acquire(claim.provider)
        try:
            result = await adapter.send(build_message(claim))
        except PermanentProviderError as exc:
            stats.failed += 1
            stats.last_error, stats.last_error_at = exc.message, self._clock()
            return self._settle(
                claim,
                started,
                "permanent",
                DeliveryState.FAILED,
                error=exc.message,
                status_code=exc.status_code,
                reason="refused by provider",
            )
        except TransientProviderError as exc:
            stats.transient += 1
            stats.last_error, stats.last_error_at = exc.message, self._clock()
            if exc.retry_after:
                self._limiter.pause(claim.provider, exc.retry_after)
            return self._retry_or_give_up(claim, started, exc.message, exc.status_code, exc.retry_after, exc.ambiguous)
        except Exception as exc:  # a bug must not lose a receipt: treat as transient, keep the trace
            log.exception("unexpected error sending delivery %s", claim.id)
            return self._retry_or_give_up(claim, started, f"internal error: {type(exc).__name__}", None, None, False)
        stats.sent += 1
        stats.last_ok_at = self._clock()
        return self._accepted(claim, started, result)

    def _accepted(self, claim: ClaimedDelivery, started: datetime, result: SendResult) -> Settlement:
        if result.status is SendStatus.REJECTED:
            return self._settle(
                claim,
                started,
                "permanent",
                DeliveryState.FAILED,
                result=result,
                error=result.detail or "recipient refused",
                reason="refused by provider",
            )
        state = DeliveryState.DELIVERED if result.status is SendStatus.DELIVERED else DeliveryState.SENT
        return self._settle(claim, started, "sent", state, result=result)

    def _retry_or_give_up(
        self,
        claim: ClaimedDelivery,
        started: datetime,
        error: str,
        status: int | None,
        retry_after: float | None,
        ambiguous: bool,
    ) -> Settlement:
        now = self._clock()
        decision = self._policy.decide(
            attempt=claim.attempt, created_at=claim.created_at, now=now, retry_after=retry_after, rng=self._rng
        )
        outcome = "unknown" if ambiguous else "transient"
        if not decision.retry:
            return self._settle(
                claim, started, outcome, DeliveryState.DEAD, error=error, status_code=status, reason=decision.reason
            )
        state = DeliveryState.UNKNOWN if ambiguous else DeliveryState.QUEUED
        return self._settle(
            claim,
            started,
            outcome,
            state,
            error=error,
            status_code=status,
            next_at=now + timedelta(seconds=decision.delay),
        )

    def _settle(
        self,
        claim: ClaimedDelivery,
        started: datetime,
        outcome: str,
        state: DeliveryState,
        *,
        result: SendResult | None = None,
        error: str | None = None,
        status_code: int | None = None,
        reason: str | None = None,
        next_at: datetime | None = None,
    ) -> Settlement:
        transition(DeliveryState.SENDING, state)  # a settlement only ever follows a claim
        return Settlement(
            delivery_id=claim.id,
            attempt=claim.attempt,
            provider=claim.provider,
            started_at=started,
            finished_at=self._clock(),
            outcome=outcome,
            new_state=state,
            next_attempt_at=next_at,
            status_code=status_code,
            provider_message_id=result.provider_message_id if result else None,
            raw_status=result.raw_status if result else None,
            error=error,
            reason=reason,
        )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())
