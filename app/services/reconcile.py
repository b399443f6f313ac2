"""Catch-up reconciliation: find the platform sales whose webhooks were missed while offline.

Each configured platform is polled at start-up, then every `interval`; after a failed poll the next
try comes sooner (`retry`, doubling up to the interval), so the first poll after the network comes
back finds what was missed. A poll asks for orders updated since the last successful poll minus an
`overlap` (or, the first time, the last `lookback`) and feeds the paid ones into the same pipeline
as webhooks (`IntakeService.ingest`): checkout's dedupe makes an order seen twice harmless, and a sale
already known with changed content (`SaleConflict`) counts as known. A missed refund or cancellation
a poll finds goes to the order lifecycle the same way, and counts as new (or known) like a sale.
Progress lives in `platform_sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.clock import Clock, utcnow
from app.domain.errors import ReceiptDeskError, SaleConflict, ValidationFailed
from app.services.intake import IntakeService
from app.storage import sync as sync_store
from app.storage.database import Database
from app.triggers.catchup import Poller

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one catch-up poll of one platform did."""

    platform: str
    ok: bool
    since: datetime
    listed: int = 0  # orders (events) the platform listed in the window
    new: int = 0  # became receipts (or order updates) now: their webhooks were missed
    known: int = 0  # already had a receipt or update (webhook or earlier poll)
    skipped: int = 0  # not paid, or not a valid sale
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformSync:
    """One platform's catch-up state, for health."""

    platform: str
    state: str  # ok | failing | pending | not configured
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    events_found: int = 0
    detail: str | None = None  # why a platform is not polled


class ReconcileService:
    """Polls each platform's list API and hands missed sales to intake."""

    def __init__(
        self,
        db: Database,
        intake: IntakeService,
        pollers: Mapping[str, Poller],
        *,
        not_configured: Mapping[str, str] | None = None,
        enabled: bool = True,
        interval: timedelta = timedelta(minutes=5),
        lookback: timedelta = timedelta(hours=24),
        overlap: timedelta = timedelta(minutes=10),
        retry: timedelta = timedelta(seconds=15),
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._intake = intake
        self._pollers = dict(pollers)
        self._not_configured = dict(not_configured or {})
        self.enabled = enabled
        self.interval = interval
        self.lookback = lookback
        self.overlap = overlap
        self.retry = retry
        self._clock = clock
        self._locks = {name: asyncio.Lock() for name in self._pollers}
        self._task: asyncio.Task[None] | None = None

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms that are polled."""
        return tuple(sorted(self._pollers))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def sync(self, platform: str | None = None) -> list[SyncReport]:
        """Poll one platform (or every configured one) now. Raises `ValidationFailed` for one not polled."""
        if platform is not None and platform not in self._pollers:
            why = self._not_configured.get(platform, "not configured")
            raise ValidationFailed(f"{platform} is not polled: {why}.", field="platform")
        names = [platform] if platform is not None else sorted(self._pollers)
        return [await self._sync_one(name) for name in names]

    async def status(self) -> list[PlatformSync]:
        """Every polled or named-but-unconfigured platform, with its last successful sync."""
        states = await self._db.read(sync_store.load_all)
        result = []
        for name in sorted({*self._pollers, *self._not_configured}):
            s = states.get(name)
            if name not in self._pollers:
                result.append(PlatformSync(name, "not configured", detail=self._not_configured[name]))
                continue
            state = "pending" if s is None else ("failing" if s.last_error else "ok")
            result.append(
                PlatformSync(
                    name,
                    state,
                    s.last_success_at if s else None,
                    s.last_attempt_at if s else None,
                    s.last_error if s else None,
                    s.events_found if s else 0,
                )
            )
        return result

    def start(self) -> None:
        """Poll now, then periodically; nothing happens when disabled or nothing is configured."""
        if self.enabled and self._pollers and not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="catch-up")
            self._task.add_done_callback(self._done)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the catch-up loop stopped", exc_info=task.exception())

    def next_delay(self, failures: int) -> timedelta:
        """Wait before the next poll: the interval, or after `failures` failed polls a shorter back-off."""
        if failures <= 0:
            return self.interval
        return min(self.interval, self.retry * (1 << min(failures - 1, 20)))

    async def _loop(self) -> None:
        failures = dict.fromkeys(self._pollers, 0)
        due = dict.fromkeys(self._pollers, self._clock())  # the start-up poll
        while True:
            for name in sorted(due):
                if due[name] <= self._clock():
                    try:
                        report = await self._sync_one(name)
                        ok = report.ok
                    except Exception:  # a storage hiccup must not end the loop
                        log.exception("catch-up of %s failed", name)
                        ok = False
                    failures[name] = 0 if ok else failures[name] + 1
                    due[name] = self._clock() + self.next_delay(failures[name])
            wait = (min(due.values()) - self._clock()).total_seconds()
            await asyncio.sleep(max(0.05, wait))

    async def _sync_one(self, platform: str) -> SyncReport:
        async with self._locks[platform]:
            return await self._poll(platform)

    async def _poll(self, platform: str) -> SyncReport:
        started = self._clock()
        state = await self._db.read(lambda s: sync_store.load(s, platform))
        last = state.last_success_at if state is not None else None
        since = last - self.overlap if last is not None else started - self.lookback
        try:
            result = await self._pollers[platform].poll(since, now=started)
        except Exception as exc:  # any failure is recorded; last_success_at stays
            error = exc.message if isinstance(exc, ReceiptDeskError) else f"{type(exc).__name__}: {exc}"
            log.warning("catch-up poll of %s failed: %s", platform, error)
            await self._db.write(lambda s: sync_store.record_failure(s, platform, at=started, error=error))
            return SyncReport(platform, False, since, error=error)
        new = known = 0
        skipped = result.skipped
        for event in result.events:
            try:
                outcome = await self._intake.ingest(platform, [event])
            except SaleConflict:
                known += 1  # the sale came earlier with other content (e.g. an edit): not a missed one
                continue
            except ValidationFailed as exc:
                # Not the order's id: it may be what was refused (a card number written into it).
                log.warning("%s: an order from the catch-up was refused: %s", platform, exc.message)
                skipped += 1
                continue
            for duplicate in [r.duplicate for r in outcome.results] + [u.duplicate for u in outcome.updates]:
                if duplicate:
                    known += 1
                else:
                    new += 1
        if new:
            log.info("catch-up of %s found %d sale(s) whose webhooks were missed", platform, new)
        await self._db.write(
            lambda s: sync_store.record_success(s, platform, at=started, cursor=result.cursor, found=new)
        )
        return SyncReport(platform, True, since, result.listed, new, known, skipped)


def describe(reports: Sequence[SyncReport]) -> list[str]:
    """One line per report, for the command line."""
    lines = []
    for r in reports:
        if not r.ok:
            lines.append(f"{r.platform}: failed ({r.error}); the last successful sync is kept")
            continue
        lines.append(
            f"{r.platform}: since {r.since.isoformat(timespec='seconds')}: {r.listed} listed, "
            f"{r.new} new receipt(s), {r.known} already known, {r.skipped} skipped"
        )
    return lines
