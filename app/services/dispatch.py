"""The dispatcher: asyncio workers that drain the outbox through the provider adapters.

Claims due deliveries under a lease (at most one round ahead of its workers; see below), renews the
leases of every claim it holds, writes each attempt (`sending`) before its request leaves, sends it through its
provider (rate-limited), records the outcome on that attempt (and audits it, `delivery.attempt`, in
the same transaction), retries transient failures by the `RetryPolicy`, never retries permanent
ones, and dead-letters what it gives up on. A crash loses nothing and doubles nothing unseen: a
claimed row comes due again when its lease runs out, and an attempt its worker left `sending` is
in doubt, settled by asking the provider or by the channel's `InDoubtPolicy` before anything is
sent again.

How far it claims ahead: a dispatcher holds at most `concurrency + prefetch` claims (in flight, or
waiting for a worker; `prefetch` is `concurrency` unless set), and claims again once a quarter of that
is free, so a worker that ends a send takes the next claim at once instead of waiting for a claim's
transaction, and claims come in batches rather than one per send. It was once only what idle workers
could start (gathered over 5 ms): every freed worker then waited for a claim's transaction before its
send. The bound keeps it sound for several dispatchers on one database: one of them never
holds more than a round beyond what it is sending, so the others find the rest due; every claim it
holds is renewed while held, waiting or in flight; and a stop hands the waiting ones back at once, due
now, so another dispatcher takes them without waiting for their leases to run out. Only a claim a
worker starts at once has its attempt written with the claim (the claim is the intent); one that waits
gets its attempt written when a worker starts it, so a crash leaves no attempt in doubt that never
left.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from app.domain.app_devices import GONE_REASON
from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.doubt import DEFAULT_IN_DOUBT, InDoubtPolicy
from app.domain.message import Attachment
from app.domain.records import ClaimedDelivery, Settlement
from app.domain.routing import Routing
from app.domain.unsubscribe import UnsubscribeRoute
from app.providers.base import ProviderAdapter
from app.services.app_devices import forget_unregistered
from app.services.attempts import AttemptRunner, DispatchStats, Intent, attempt_entry
from app.services.breaker import CircuitBreaker
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus
from app.services.ratelimit import RateLimiter
from app.services.retry import RetryPolicy
from app.services.unsubscribe import attach_tokens
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
        prefetch: int | None = None,
        claim_batch: int = 128,
        lease: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        owner: str | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        in_doubt: Mapping[Channel, InDoubtPolicy] = DEFAULT_IN_DOUBT,
        inline_images: Mapping[str, Attachment] | None = None,
        unsubscribe: UnsubscribeRoute | None = None,
    ) -> None:
        self._db = db
        self._unsubscribe_route = unsubscribe
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
            intend=self._intend,
            in_doubt=in_doubt,
            inline_images=inline_images,  # the store's logo, by Content-ID (app.rendering.inline_images)
            unsubscribe=unsubscribe,  # List-Unsubscribe and the footer line of customer e-mails
        )
        self._concurrency = concurrency
        self._prefetch = concurrency if prefetch is None else max(0, prefetch)
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
        self._renew_task: asyncio.Task[None] | None = None
        # Intents not yet taken by a write (appended here, taken by the writer's thread), under a lock.
        self._intents: list[tuple[outbox.Intent, asyncio.Future[bool]]] = []
        self._intents_lock = threading.Lock()
        self._intents_queued = False  # a write that will take them is queued and has not taken them yet
        self._claimed: dict[str, int] = {}  # claims not yet settled or handed back: delivery id → attempt
        self._stopped = asyncio.Event()
        self._settled: list[tuple[ClaimedDelivery, Settlement]] = []
        self._settle_ready = asyncio.Event()
        self._stopping = False
        self._sends_over = False  # stopping, and every send in flight has ended: the settler may finish
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        """Start claiming and sending; a stopped dispatcher can be started again."""
        if self._loop_task is not None:
            return
        self._stopping = self._sends_over = False
        self._stopped.clear()
        self._unsubscribe = self._bus.subscribe(DeliveriesQueued, lambda _e: self.wake())
        self._loop_task = self._own(self._claim_loop(), "dispatcher-claims")
        self._settler_task = self._own(self._settle_loop(), "dispatcher-settlements")
        self._renew_task = self._own(self._renew_loop(), "dispatcher-leases")
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
        self._stopped.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        unsent = self._waiting()  # at once: no worker starts one of these from here on
        self._wake.set()
        self._want_more.set()
        await self._loop_task
        self._loop_task = None
        unsent += self._waiting()
        for _ in self._tasks:
            self._ready.put_nowait(None)
        if unsent:  # handed back before the sends in flight end: another dispatcher may take them now
            claims = [(c.id, c.attempt) for c in unsent]
            doubtful = {c.id for c in unsent if c.doubt is not None}
            try:
                await self._db.write(lambda s: outbox.release(s, claims, now=self._clock(), doubtful=doubtful))
            except Exception:  # their leases run out instead
                log.exception("handing back %d claims failed", len(claims))
            for claim in unsent:
                self._claimed.pop(claim.id, None)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        assert self._settler_task is not None
        self._sends_over = True
        self._settle_ready.set()
        await self._settler_task
        self._settler_task = None
        if self._renew_task is not None:
            await self._renew_task
            self._renew_task = None
        self._claimed.clear()

    @property
    def held(self) -> int:
        """Claims this dispatcher holds: waiting for a worker, in flight, or settled and not yet written."""
        return len(self._claimed)

    @property
    def waiting(self) -> int:
        """Claims waiting for a worker (claimed ahead)."""
        return self._ready.qsize()

    def _waiting(self) -> list[ClaimedDelivery]:
        """Take every claim still waiting for a worker off the queue."""
        taken: list[ClaimedDelivery] = []
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if item is not None:
                taken.append(item)
        return taken

    def _own(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(_log_failure)
        return task

    async def _claim_loop(self) -> None:
        """Keep at most `concurrency + prefetch` claims (module docstring): claim when workers are idle
        with nothing waiting, or when a quarter of that room is free; the attempts of the claims idle
        workers start at once are written with the claim."""
        most = self._concurrency + self._prefetch
        floor = max(1, most // 4)
        while not self._stopping:
            waiting = self._ready.qsize()
            held = self.stats.in_flight + waiting
            room, idle = most - held, self._concurrency - held
            if room <= 0 or (idle <= 0 and room < floor):
                self._want_more.clear()
                await self._want_more.wait()
                continue
            self._wake.clear()
            try:
                claimed = await self._claim(min(room, self._claim_batch), record=max(0, idle))
            except Exception:
                log.exception("claiming deliveries failed; trying again shortly")
                await asyncio.sleep(self._idle_poll)
                continue
            for claim in claimed:
                self._claimed[claim.id] = claim.attempt
                self._ready.put_nowait(claim)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll)

    async def _claim(self, limit: int, *, record: int) -> list[ClaimedDelivery]:
        now = self._clock()

        def job(session: UnitOfWork) -> list[ClaimedDelivery]:
            claimed = outbox.claim_due(
                session,
                owner=self.owner,
                now=now,
                lease=self._lease,
                limit=limit,
                skip_locked=self._skip_locked,
                record=record,
            )
            if self._unsubscribe_route is None:
                return claimed
            return attach_tokens(session, claimed, now=now)  # each customer e-mail's List-Unsubscribe token

        return await self._db.write(job)

    async def _renew_loop(self) -> None:
        """Every third of a lease, extend the leases of every claim still in flight, in one statement."""
        every = self._lease.total_seconds() / 3
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=every)
            if self._stopping or not self._claimed:
                continue
            claims = list(self._claimed.items())
            until = self._clock() + self._lease
            try:
                await self._db.write(functools.partial(outbox.renew, claims=claims, owner=self.owner, until=until))
            except Exception:
                log.exception("renewing %d leases failed", len(claims))

    async def _intend(self, intent: Intent) -> bool:
        """Write the attempt (`sending`) before its request leaves, under the claim's fence.

        Intents are written together: a write is queued for the first one, and it takes, when the writer's
        thread runs it, every intent that came meanwhile (one job and one commit for all of them); an intent
        that comes after that queues the next write.
        """
        claim = intent.claim
        row = outbox.Intent(
            delivery_id=claim.id,
            number=claim.attempt,
            provider=intent.provider,
            started_at=intent.started_at,
            owner=self.owner,
            possible_duplicate=intent.possible_duplicate,
            doubt=intent.doubt,
            rewrite=intent.rewrite,
        )
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        with self._intents_lock:
            self._intents.append((row, done))
            queue, self._intents_queued = not self._intents_queued, True
        if queue:
            self._own(self._write_intents(), "dispatcher-intents")
        return await done

    def _take_intents(self) -> list[tuple[outbox.Intent, asyncio.Future[bool]]]:
        with self._intents_lock:
            taken, self._intents = self._intents, []
            self._intents_queued = False
        return taken

    async def _write_intents(self) -> None:
        taken: list[tuple[outbox.Intent, asyncio.Future[bool]]] = []
        ran: list[bool] = []

        def job(session: UnitOfWork) -> list[outbox.Intent]:  # on the writer's thread, at its turn
            ran.append(True)
            taken.extend(self._take_intents())  # a job run again (a retried commit) writes these and any new
            return outbox.record_intent(session, [row for row, _ in taken])

        held: list[outbox.Intent] = []
        failure: Exception | None = None
        try:
            held = await self._db.write(job)
        except Exception as exc:
            failure = exc
        if not ran:  # the database refused the job: no other write was queued since, these are its to fail
            taken = self._take_intents()
            failure = failure or RuntimeError("the intents were not written")
        landed = {(i.delivery_id, i.number) for i in held}
        for row, done in taken:
            if done.done():
                continue
            if failure is not None:
                done.set_exception(failure)
            else:
                done.set_result((row.delivery_id, row.number) in landed)

    async def _worker(self) -> None:
        while True:
            claim = await self._ready.get()
            if claim is None:
                return
            self.stats.in_flight += 1
            try:
                await self._deliver(claim)
            finally:
                self.stats.in_flight -= 1
                self._want_more.set()

    async def _deliver(self, claim: ClaimedDelivery) -> None:
        try:
            settlement = await self._runner.run(claim)
        except Exception:  # the claim stays `sending`; its lease runs out and it is tried again
            log.exception("delivery %s could not be attempted", claim.id)
            self._claimed.pop(claim.id, None)
            return
        if settlement is None:  # taken over before anything left
            self._claimed.pop(claim.id, None)
            return
        self._settled.append((claim, settlement))
        self._settle_ready.set()

    async def _settle_loop(self) -> None:
        """Write every settled attempt back to the outbox, many per transaction; once the sends in flight
        have ended at a stop, write what is left and end (whichever wake-up the last batch took)."""
        while True:
            await self._settle_ready.wait()
            self._settle_ready.clear()
            batch, self._settled = self._settled, []
            if batch:
                await self._write_settlements(batch)
            if self._sends_over and not self._settled:
                return

    async def _write_settlements(self, batch: list[tuple[ClaimedDelivery, Settlement]]) -> None:
        def job(session: UnitOfWork) -> list[Settlement]:
            """The attempts, their deliveries' new states and their audit entries: one transaction, one head lock."""
            landed = outbox.settle(session, [settlement for _, settlement in batch])
            tried = {(settlement.delivery_id, settlement.attempt) for settlement in landed if settlement.counts}
            audit.append_many(session, [attempt_entry(c, s) for c, s in batch if (s.delivery_id, s.attempt) in tried])
            # Push installs the push service says are gone are removed with the failure that found them.
            gone = [c.recipient for c, s in batch if s.reason == GONE_REASON and (s.delivery_id, s.attempt) in tried]
            if gone:
                forget_unregistered(session, gone, now=self._clock())
            return landed

        try:
            landed = await self._db.write(job)
        except Exception:  # the rows stay `sending`; their lease runs out and they are tried again
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        finally:
            for claim, _ in batch:
                if self._claimed.get(claim.id) == claim.attempt:
                    del self._claimed[claim.id]
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
                        settlement.attempt if settlement.counts else None,
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
