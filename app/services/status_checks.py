"""Status checks: ask a provider, once, for the status of a message whose final status never came.

A delivery the provider accepted (`sent`, or `unknown` with the provider's message id) whose delivery
or bounce callback never came would stay so forever. Every `interval` a round finds those through a
provider that can be asked (its adapter declares a `status_doc`), quiet for `[dispatch]
status_check_after_minutes`, never asked (`deliveries.status_checked_at` empty), and asks each once:

- an answer (delivered, bounced, failed, still sent, no such message) is recorded as the provider's
  callback would be (`TrackingService.record_status_check`: a delivery event of that provider, the
  delivery moved on, a bounce's fallback queued) and the delivery marked asked, in one transaction;
- no answer (out of reach, an error answer, a body it cannot read) leaves it for a later round, at
  most `max_tries` times in all (counted while this process runs); then the give-up is recorded as
  an event and the delivery is marked asked. The provider is not asked again in that round;
- a provider that refuses to be asked (401/403: no read permission) is not asked again until restart.

Requests to each provider go through their own token bucket (at most `rate_per_sec` a second, and
never faster than the provider's own sending rate), `concurrency` at a time in all: the sends come
first. Nothing here blocks: the round runs as one background task owned by this service.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from app.domain.attempt_words import status_check_given_up_words, status_check_words
from app.domain.clock import Clock, utcnow
from app.domain.tracking import EventKind, StatusAnswer, StatusCheck, status_check_event
from app.providers.base import HttpAdapter, ProviderAdapter
from app.services.background import BackgroundTasks
from app.services.ratelimit import RateLimiter
from app.services.tracking import TrackingService
from app.storage import status_checks
from app.storage.database import Database
from app.storage.status_checks import DueCheck

log = logging.getLogger(__name__)

MAX_TRIES = 3
"""Rounds a delivery's provider is asked before the check is given up (each an error or no answer)."""
RATE_PER_SEC = 5.0
"""Status checks a second per provider at most (fewer when the provider's own sending rate is lower)."""


@dataclass
class RoundReport:
    """What one round of status checks did."""

    asked: int = 0
    answered: Counter[str] = field(default_factory=Counter)  # by event kind
    errors: int = 0  # no answer: left for a later round
    given_up: int = 0  # no answer `max_tries` times: marked asked


class StatusCheckService:
    """Finds deliveries whose final status never came and asks their provider, once each."""

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        adapters: Mapping[str, ProviderAdapter],
        *,
        after: timedelta = timedelta(minutes=60),
        interval: timedelta = timedelta(minutes=5),
        concurrency: int = 4,
        batch: int = 200,
        max_tries: int = MAX_TRIES,
        rate_per_sec: float = RATE_PER_SEC,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._tracking = tracking
        self._adapters: dict[str, HttpAdapter] = {
            pid: a for pid, a in adapters.items() if isinstance(a, HttpAdapter) and a.can_check_status()
        }
        self.after = after
        self.interval = interval
        self._concurrency = max(1, concurrency)
        self._batch = batch
        self.max_tries = max_tries
        rates = {}
        for pid, adapter in self._adapters.items():
            own = adapter.capabilities.rate_per_sec
            rates[pid] = min(rate_per_sec, own) if own else rate_per_sec
        self._limiter = RateLimiter(rates)
        self._clock = clock
        self._tries: Counter[str] = Counter()  # delivery id → rounds without an answer
        self._refused: set[str] = set()  # providers that will not be asked (until restart)
        self._round = asyncio.Lock()
        self._tasks = BackgroundTasks("status checks")

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers that are asked: their adapter declares a status check and they did not refuse."""
        return tuple(sorted(set(self._adapters) - self._refused))

    @property
    def running(self) -> bool:
        return len(self._tasks) > 0

    def start(self) -> None:
        """Run a round now, then every `interval`; nothing happens when no provider can be asked."""
        if self._adapters and not self.running:
            self._tasks.start(self._loop(), "status-checks")

    async def stop(self) -> None:
        await self._tasks.cancel_all()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_round()
            except Exception:  # a storage hiccup must not end the loop
                log.exception("a round of status checks failed")
            await asyncio.sleep(self.interval.total_seconds())

    async def run_round(self) -> RoundReport:
        """Ask about every delivery due now (up to `batch`), `concurrency` at a time; one round at a time."""
        async with self._round:
            report = RoundReport()
            providers = self.providers
            if not providers:
                return report
            quiet_since = self._clock() - self.after
            due = await self._db.read(
                lambda s: status_checks.due(s, providers=providers, quiet_since=quiet_since, limit=self._batch)
            )
            failing: set[str] = set()  # providers that gave no answer this round: asked no more in it
            gate = asyncio.Semaphore(self._concurrency)

            async def one(check: DueCheck) -> None:
                async with gate:
                    if check.provider in failing or check.provider in self._refused:
                        return
                    await self._ask(check, report, failing)

            await asyncio.gather(*(one(check) for check in due))
            return report

    async def _ask(self, check: DueCheck, report: RoundReport, failing: set[str]) -> None:
        adapter = self._adapters[check.provider]
        await self._limiter.acquire(check.provider)
        report.asked += 1
        try:
            outcome = await adapter.check_status(check.provider_message_id, reference=check.idempotency_key)
        except Exception as exc:  # an answer its parser did not expect: no answer, as an error answer is
            log.exception("status check of %s at %s failed", check.delivery_id, check.provider)
            outcome = StatusCheck(error=f"{adapter.display_name}: {type(exc).__name__}")
        if outcome is None:
            log.warning("%s cannot be asked for a message's status: not asked again", adapter.display_name)
            self._refused.add(check.provider)
            return
        if outcome.answer is None:
            failing.add(check.provider)
            self._tries[check.delivery_id] += 1
            tries = self._tries[check.delivery_id]
            log.info("status check of %s at %s: %s (try %d)", check.delivery_id, check.provider, outcome.error, tries)
            if tries < self.max_tries:
                report.errors += 1
                return
            report.given_up += 1
            words = status_check_given_up_words(adapter.display_name, tries)
            answer = StatusAnswer(EventKind.UNKNOWN, "no answer", outcome.error, raw="{}")
            await self._record(check, adapter, answer, words)
            return
        answer = outcome.answer
        report.answered[answer.kind.value] += 1
        words = status_check_words(adapter.display_name, answer.kind, answer.raw_status, answer.detail)
        await self._record(check, adapter, answer, words)

    async def _record(self, check: DueCheck, adapter: HttpAdapter, answer: StatusAnswer, words: str) -> None:
        """Record the answer as the provider's event and mark the delivery asked."""
        event = status_check_event(
            check.provider,
            check.provider_message_id,
            answer,
            checked_at=self._clock(),
            delivery_key=check.idempotency_key,
            detail=words[:500],
        )
        self._tries.pop(check.delivery_id, None)
        await self._tracking.record_status_check(check.delivery_id, event)
        log.info("delivery %s: %s", check.delivery_id, words)
