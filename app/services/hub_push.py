"""The push of this lane's records to its hub (`POST /v1/hub/batches`, docs/hub.md).

One background task owns it. It turns the change feed on (with its backfill when the hub has nothing
yet), then sends the records changed since the hub's last acknowledgement in batches of
`batch_size`, oldest first, until none waits; again soon after a sale (a new receipt or delivery wakes
it, a short pause gathers what comes with it) and at most `every` seconds apart.

- `200`: the hub applied the batch. Its acknowledgement (`acked`) moves this lane's, the feed is
  pruned up to it, the records it refused are recorded as parked (they never block the ones
  behind), and its clock (`hub_time`) gives this lane's skew.
- `409`: the hub has less than this lane thought; the push resends from the hub's `acked + 1`.
- no answer, or a `5xx`: the push waits (doubling, capped, with jitter) and tries again from the
  acknowledgement, so nothing is skipped and a batch applied but unanswered is not doubled (the hub
  ignores seqs it has).
- `401`/`403`: the token is wrong; the push stops and health says so in one sentence.

Database work goes through the `Database`'s reader pool and writer thread: the event loop and the
outbox never wait on it. Sales never wait on the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Any

import httpx

from app import __version__
from app.domain.clock import Clock, utcnow
from app.services.background import BackgroundTasks
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus, ReceiptCreated
from app.storage import change_feed
from app.storage.change_feed import FeedRecord, LaneSync, Parked
from app.storage.database import Database

log = logging.getLogger(__name__)


BATCHES = "/v1/hub/batches"
SKEW_WARNING_MS = 120_000
"""A lane clock this far from the hub's is shown in health (the hybrid logical clock copes; people should not)."""

NO_CREDENTIAL = (
    "This lane has no token for its hub: create one on the hub with the hub:sync scope and set it here "
    "with `receiptdesk secrets set hub token`."
)
REFUSED = "The hub refused this lane's token"


def refused_words(url: str) -> str:
    return (
        f"{REFUSED} at {url}: set a token with the hub:sync scope with `receiptdesk secrets set hub token` "
        "and restart ReceiptDesk."
    )


def backoff(failures: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after `failures` pushes in a row that got no answer: doubling, capped, jittered."""
    ceiling = min(cap, base * float(2 ** max(0, failures - 1)))
    return ceiling / 2 + rng.random() * ceiling / 2


@dataclass(frozen=True, slots=True)
class PushReport:
    """What a round of pushing did: batches and records sent, records parked, the error it stopped at."""

    batches: int = 0
    records: int = 0
    parked: int = 0
    acked: int = 0
    error: str | None = None
    refused: bool = False  # 401/403: the push has stopped


class _Failed(Exception):
    def __init__(self, words: str, *, refused: bool = False) -> None:
        super().__init__(words)
        self.words = words
        self.refused = refused


class _TooLarge(Exception):
    """The hub answered 413: the batch is more than it takes in one request."""


class HubPushService:
    """Pushes the lane's change feed to its hub; `status()` and `warnings()` are what health shows."""

    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        bus: EventBus | None,
        *,
        url: str,
        token: str | None,
        lane_id: str,
        store_id: str,
        every: float = 2.0,
        batch_size: int = 500,
        debounce: float = 0.25,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        version: str = __version__,
        clock: Clock = utcnow,
        zone: tzinfo | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._http = http
        self._bus = bus
        self.url = url.rstrip("/")
        self._token = token
        self.lane_id = lane_id
        self.store_id = store_id
        self.every = every
        self.batch_size = batch_size
        self.debounce = debounce
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._version = version
        self._clock = clock
        self._zone = zone
        self._rng = rng or random.Random()
        self._tasks = BackgroundTasks("hub push")
        self._wake: asyncio.Event | None = None
        self._heard: asyncio.Event | None = None  # the hub answered a pull: retry a failed push now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._push = asyncio.Lock()
        self.stopped: str | None = None  # why the push stopped for good (a refused or missing token)
        self.settings_version: int | None = None  # the store settings' version pulled from the hub, said in each batch

    @property
    def running(self) -> bool:
        return len(self._tasks) > 0

    def start(self) -> None:
        """Switch the feed on and push now, then after each sale and every `every` seconds."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._heard = asyncio.Event()
        if self._bus is not None:
            for event in (ReceiptCreated, DeliveriesQueued, DeliveryChanged):
                self._unsubscribe.append(self._bus.subscribe(event, lambda _e: self.poke()))
        self._tasks.start(self._run(), "hub-push")

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await self._tasks.cancel_all()

    def poke(self) -> None:
        """Something changed: push soon (callable from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(wake.set)

    def hub_answered(self) -> None:
        """The hub answered this lane (its pull): a push waiting out earlier failures tries again now, so a
        lane back from a long outage does not sit out the rest of its backoff (callable from any thread)."""
        loop, heard = self._loop, self._heard
        if loop is None or heard is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(heard.set)

    async def _run(self) -> None:
        if not self._token:
            self.stopped = NO_CREDENTIAL
            await self._db.write(lambda s: change_feed.record_failure(s, NO_CREDENTIAL))
            log.warning(NO_CREDENTIAL)
            return
        backfilled = await self._db.write(lambda s: change_feed.enable(s, at=self._clock()))
        if backfilled:
            log.info("the hub gets this lane's %d existing records first", backfilled)
        failures = 0
        while True:
            assert self._heard is not None
            self._heard.clear()  # from here on, the hub answering a pull cuts a failure's wait short
            try:
                report = await self.push_pending()
            except Exception:  # a storage hiccup must not end the push
                log.exception("a push to the hub failed")
                report = PushReport(error="The push to the hub failed on this lane; see the log.")
            if report.refused:
                return
            if report.error is None:
                failures = 0
                await self._pause(self.every, wakeable=True)
            else:
                failures += 1
                delay = backoff(failures, base=self._backoff_base, cap=self._backoff_cap, rng=self._rng)
                await self._pause(delay, wakeable=False)

    async def _pause(self, seconds: float, *, wakeable: bool) -> None:
        assert self._wake is not None and self._heard is not None
        if not wakeable:  # after a failure: only the hub answering a pull since this push began cuts it short
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), timeout=seconds)
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return
        if self.debounce > 0:
            await asyncio.sleep(self.debounce)  # what the same sale brings comes in the same batch

    async def push_pending(self) -> PushReport:
        """Push batches until none waits, or one fails; one round at a time."""
        async with self._push:
            if self._wake is not None:
                self._wake.clear()
            batches = records = parked = 0
            acked = await self._db.read(change_feed.acked_seq)
            conflicts = 0
            limit = self.batch_size
            while True:
                batch = await self._db.read(partial(change_feed.next_batch, after=acked, limit=limit))
                if not batch:
                    return PushReport(batches, records, parked, acked)
                newest = await self._db.read(change_feed.newest_seq)
                try:
                    answer = await self._send(acked, batch, backlog=max(0, newest - batch[-1].seq))
                except _TooLarge:
                    if limit > 1:  # halve until it fits; a batch that fit was not the problem
                        limit = max(1, len(batch) // 2)
                        continue
                    words = f"The hub at {self.url} refuses record {batch[0].kind} {batch[0].key} as too large."
                    await self._db.write(partial(change_feed.record_failure, error=words))
                    return PushReport(batches, records, parked, acked, words)
                except _Failed as failed:
                    words, refused = failed.words, failed.refused
                    await self._db.write(partial(change_feed.record_failure, error=words))
                    if refused:
                        self.stopped = words
                        log.error("%s", words)
                    else:
                        log.warning("push to the hub: %s", words)
                    return PushReport(batches, records, parked, acked, words, refused)
                if isinstance(answer, _Conflict):
                    conflicts += 1
                    if conflicts > 2:
                        words = f"The hub at {self.url} keeps answering that it has only up to record {answer.acked}."
                        await self._db.write(partial(change_feed.record_failure, error=words))
                        return PushReport(batches, records, parked, acked, words)
                    log.warning("the hub has records up to %d only; sending again from there", answer.acked)
                    await self._db.write(partial(change_feed.rewind, acked=answer.acked, at=self._clock()))
                    acked = answer.acked
                    continue
                batches += 1
                records += len(batch)
                parked += len(answer.parked)
                acked = answer.acked

    async def _send(self, after: int, batch: list[FeedRecord], *, backlog: int) -> _Applied | _Conflict:
        body = {
            "lane_id": self.lane_id,
            "store_id": self.store_id,
            "version": self._version,
            "sent_at": self._clock().isoformat(timespec="milliseconds"),
            "after": after,
            "backlog": backlog,
            "records": [record.wire() for record in batch],
        }
        if self.settings_version is not None:
            body["settings_version"] = self.settings_version
        started = self._clock()
        try:
            response = await self._http.post(
                self.url + BATCHES, json=body, headers={"Authorization": f"Bearer {self._token}"}
            )
        except httpx.HTTPError as exc:
            raise _Failed(f"The hub at {self.url} did not answer ({type(exc).__name__}).") from None
        ended = self._clock()
        if response.status_code in (401, 403):
            raise _Failed(refused_words(self.url), refused=True)
        if response.status_code == 413:
            raise _TooLarge
        if response.status_code == 409:
            return _Conflict(_int(_json(response).get("acked"), f"The hub at {self.url} answered 409 without acked."))
        if response.status_code != 200:
            reason = response.text.strip().splitlines()[0][:200] if response.text.strip() else "no reason given"
            raise _Failed(f"The hub at {self.url} answered {response.status_code} ({reason}).")
        answer = _json(response)
        acked = _int(answer.get("acked"), f"The hub at {self.url} answered without acked.")
        kinds = {r.seq: r for r in batch}
        parked = []
        for item in answer.get("parked") or []:
            seq = item.get("seq") if isinstance(item, dict) else None
            record = kinds.get(seq) if isinstance(seq, int) else None
            if record is not None:
                parked.append(Parked(record.seq, record.kind, record.key, str(item.get("reason") or "refused")))
        skew = _skew_ms(answer.get("hub_time"), started, ended)
        for p in parked:
            log.warning("the hub parked %s %s (seq %d): %s", p.kind, p.key, p.seq, p.reason)
        await self._db.write(lambda s: change_feed.acknowledge(s, acked, parked, at=ended, skew_ms=skew))
        return _Applied(acked, parked)

    # -- what health shows ---------------------------------------------------------------------

    async def status(self) -> LaneSync:
        return await self._db.read(change_feed.status)

    def warnings(self, sync: LaneSync, now: datetime | None = None) -> list[str]:
        """One sentence each: the hub out of reach (since when, how much waits), a refused token, a skewed clock."""
        return sync_warnings(self.url, sync, now or self._clock(), self._zone)


def sync_warnings(url: str, sync: LaneSync, now: datetime, zone: tzinfo | None) -> list[str]:
    words: list[str] = []
    if sync.last_error is not None:
        if sync.last_error.startswith(REFUSED) or sync.last_error == NO_CREDENTIAL:
            words.append(sync.last_error)
        else:
            waiting = "1 record waits" if sync.backlog == 1 else f"{sync.backlog:,} records wait"
            if sync.last_push_at is None:
                words.append(f"The hub at {url} has not answered yet; {waiting}.")
            else:
                words.append(
                    f"The hub at {url} has not answered since {_when(sync.last_push_at, now, zone)}; {waiting}."
                )
    if sync.skew_ms is not None and abs(sync.skew_ms) >= SKEW_WARNING_MS:
        side = "behind" if sync.skew_ms > 0 else "ahead of"
        words.append(
            f"This lane's clock is {abs(sync.skew_ms) / 60_000:.0f} min {side} the hub's: set it right "
            "(the hub orders changes by its own rules meanwhile)."
        )
    return words


def _when(at: datetime, now: datetime, zone: tzinfo | None) -> str:
    local, today = at.astimezone(zone), now.astimezone(zone)
    clock = local.strftime("%I:%M %p").lstrip("0")
    if local.date() == today.date():
        return clock
    return f"{local:%b} {local.day}, {clock}"


@dataclass(frozen=True, slots=True)
class _Applied:
    acked: int
    parked: list[Parked]


@dataclass(frozen=True, slots=True)
class _Conflict:
    acked: int


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Failed(f"The hub answered {response.status_code} with a body that is not a JSON object.")
    return body


def _int(value: Any, words: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Failed(words)
    return value


def _skew_ms(hub_time: Any, started: datetime, ended: datetime) -> int | None:
    """The hub's clock minus this lane's, taking the hub's stamp as made halfway through the exchange."""
    if not isinstance(hub_time, str):
        return None
    try:
        stamp = datetime.fromisoformat(hub_time)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return None
    middle = started + (ended - started) / 2
    return round((stamp - middle) / timedelta(milliseconds=1))
