"""Print-stream capture: receipts a legacy POS printed become receipts the customer can get by email or SMS.

The pass-through (`app.devices.passthrough`) hands a copy of the print stream to `tap`; the stream
reader turns it into receipts at each cut. Each receipt is scrubbed of card data before anything
is stored, then read with the store's layout. A clean receipt that gives a valid sale is a trigger
like any other (`CheckoutService.accept_with`, event id = hash of the scrubbed text, so a replay is a
duplicate); its capture record is written in checkout's own transaction, so there is never a
receipt without its capture or a capture marked sent without its receipt. One that may still hold
card data is held for a manager; one that does not read as a sale is kept as `unparsed`. Nothing
is sent for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol, TypeVar

from app.devices.escpos_stream import EscPosStream, ReceiptComplete
from app.domain.capture import (
    CaptureRecord,
    CaptureState,
    CaptureUnparsed,
    Layout,
    capture_digest,
    parse_capture,
)
from app.domain.card_scrub import scrub
from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound, ReceiptDeskError, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.sale import Sale
from app.services.checkout import CheckoutResult
from app.storage import audit, captures
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")

QUEUE_LIMIT = 200
"""Receipts waiting to be processed; beyond this a burst is dropped from capture (printing goes on)."""


class Accepts(Protocol):
    """Checkout, as capture uses it: the sale and the capture record commit in one transaction."""

    async def accept_with(
        self, event: TriggerEvent, also: Callable[[UnitOfWork, CheckoutResult], T]
    ) -> tuple[CheckoutResult, T]: ...


class ByteSource(Protocol):
    """Where the print stream comes from (a serial or TCP pass-through)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """What became of one captured receipt."""

    capture: CaptureRecord
    duplicate: bool = False
    result: CheckoutResult | None = None


class CaptureService:
    """Turns captured print receipts into sales; lists, releases and discards held ones."""

    def __init__(
        self,
        db: Database,
        checkout: Accepts,
        layout: Layout,
        *,
        name: str = "pos",
        store_id: str,
        lane: str = "1",
        tz: tzinfo | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._checkout = checkout
        self._layout = layout
        self.source = f"capture:{name}"[:40]
        self._store_id = store_id
        self._lane = lane
        self._tz = tz
        self._clock = clock
        self._stream = EscPosStream()
        self._pending: asyncio.Queue[tuple[str, ...]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._input: ByteSource | None = None
        self._starting: asyncio.Task[None] | None = None
        self.problem: str | None = None  # why the pass-through is not forwarding, once it failed

    # -- the stream ---------------------------------------------------------------------------

    def tap(self, data: bytes) -> None:
        """A copy of the print stream; callable from any thread (the serial pumps call it)."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self.feed(data)
        else:
            loop.call_soon_threadsafe(self.feed, data)

    def feed(self, data: bytes) -> None:
        """Read `data` (on the loop); each completed receipt is queued for `ingest`."""
        for event in self._stream.feed(data):
            if isinstance(event, ReceiptComplete) and self._pending is not None:
                try:
                    self._pending.put_nowait(event.lines)
                except asyncio.QueueFull:
                    log.error("%s: too many receipts waiting; one was not captured", self.source)

    async def start(self, source: ByteSource | None = None) -> None:
        """Start processing receipts, and `source` (the pass-through) when given."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._pending = asyncio.Queue(QUEUE_LIMIT)
        self._worker = asyncio.create_task(self._work(self._pending), name=f"{self.source}-worker")
        if source is not None:
            await source.start()
            self._input = source

    def launch(self, source: ByteSource | None) -> None:
        """`start(source)` as a background task that this service owns (for synchronous start-up code)."""
        if self._starting is not None or self._worker is not None:
            return
        self._starting = asyncio.create_task(self.start(source), name=f"{self.source}-start")
        self._starting.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.problem = f"the pass-through did not start: {task.exception()}"
            log.error("%s: print-stream capture did not start: %s", self.source, task.exception())

    @property
    def state(self) -> str:
        """`off` (no pass-through here), `starting`, `forwarding`, or `failed` (see `problem`).

        A failed pass-through means the POS's receipts are not reaching its printer through this
        terminal: the health check says so, loudly.
        """
        if self.problem is not None:
            return "failed"
        if self._input is not None:
            return "forwarding"
        return "starting" if self._starting is not None else "off"

    async def stop(self) -> None:
        """Stop the pass-through (printing stops being forwarded through this terminal) and the worker."""
        if self._starting is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._starting
            self._starting = None
        if self._input is not None:
            await self._input.stop()
            self._input = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self._loop = None

    async def drain(self) -> None:
        """Wait until every queued receipt was processed."""
        await asyncio.sleep(0)  # chunks handed over from other threads are read first
        if self._pending is not None:
            await self._pending.join()

    async def _work(self, pending: asyncio.Queue[tuple[str, ...]]) -> None:
        while True:
            lines = await pending.get()
            try:
                await self.ingest(lines)
            except Exception:
                log.exception("%s: a captured receipt could not be processed", self.source)
            finally:
                pending.task_done()

    # -- one receipt --------------------------------------------------------------------------

    async def ingest(self, lines: Sequence[str]) -> CaptureOutcome:
        """Scrub, store and (when clean and valid) send one captured receipt."""
        scrubbed = scrub("\n".join(lines).strip("\n"))
        text = scrubbed.text
        digest = capture_digest(text)
        capture_id = str(uuid.UUID(digest[:32]))
        existing = await self._db.read(lambda s: captures.get(s, capture_id))
        if existing is not None and existing.state is not CaptureState.UNPARSED:
            return CaptureOutcome(existing, duplicate=True)
        if not scrubbed.clean:
            reason = "may still hold card data: " + "; ".join(scrubbed.suspects)
            record = await self._db.write(lambda s: self._store(s, capture_id, CaptureState.HELD, text, reason=reason))
            log.warning("%s: receipt held for a manager (%s)", self.source, reason)
            return CaptureOutcome(record)
        try:
            sale = parse_capture(text.split("\n"), self._layout, store_id=self._store_id, lane=self._lane, tz=self._tz)
        except CaptureUnparsed as exc:
            why = exc.message
            record = await self._db.write(lambda s: self._store(s, capture_id, CaptureState.UNPARSED, text, reason=why))
            return CaptureOutcome(record)
        return await self._send(capture_id, digest, text, sale)

    async def _send(
        self, capture_id: str, digest: str, text: str, sale: Sale, *, actor: str | None = None
    ) -> CaptureOutcome:
        event = TriggerEvent(source=self.source, event_id=digest, sale=sale, received_at=self._clock())

        def sent(session: UnitOfWork, result: CheckoutResult) -> CaptureRecord:
            return self._store(
                session,
                capture_id,
                CaptureState.SENT,
                text,
                sale_id=sale.sale_id,
                receipt_id=result.receipt_id,
                actor=actor,
            )

        try:
            # The receipt and the capture that made it commit together: a crash leaves both or neither.
            result, record = await self._checkout.accept_with(event, sent)
        except ReceiptDeskError as exc:
            why = exc.message
            record = await self._db.write(
                lambda s: self._store(s, capture_id, CaptureState.UNPARSED, text, reason=why, sale_id=sale.sale_id)
            )
            return CaptureOutcome(record)
        return CaptureOutcome(record, duplicate=result.duplicate, result=result)

    def _store(
        self,
        session: UnitOfWork,
        capture_id: str,
        state: CaptureState,
        text: str,
        *,
        reason: str | None = None,
        sale_id: str | None = None,
        receipt_id: str | None = None,
        actor: str | None = None,
    ) -> CaptureRecord:
        now = self._clock()
        if captures.get(session, capture_id) is None:
            captures.add(
                session,
                capture_id=capture_id,
                source=self.source,
                state=state,
                text=text,
                now=now,
                sale_id=sale_id,
                reason=reason,
                receipt_id=receipt_id,
            )
            if state is CaptureState.HELD:
                audit.append(
                    session,
                    at=now,
                    actor=self.source,
                    action="capture.held",
                    subject=capture_id,
                    detail={"reason": reason},
                )
        else:
            captures.set_state(
                session, capture_id, state, now=now, reason=reason, receipt_id=receipt_id, sale_id=sale_id
            )
        if actor is not None:
            audit.append(
                session,
                at=now,
                actor=actor,
                action="capture.released",
                subject=capture_id,
                detail={"sale_id": sale_id, "receipt_id": receipt_id},
            )
        record = captures.get(session, capture_id)
        assert record is not None
        return record

    # -- the manager ---------------------------------------------------------------------------

    async def list_captures(self, state: CaptureState | None = None, limit: int = 100) -> list[CaptureRecord]:
        """Captures newest first, optionally only those in `state`."""
        return await self._db.read(lambda s: captures.listing(s, state, limit))

    async def show(self, capture_id: str) -> CaptureRecord:
        """One capture by id (or an unambiguous start of it)."""
        found = await self._db.read(lambda s: _resolve(s, capture_id))
        return found

    async def release(self, capture_id: str, *, actor: str = "manager") -> CaptureOutcome:
        """A manager confirmed a held capture is clean: read it as a sale and send it."""
        record = await self.show(capture_id)
        if record.state is not CaptureState.HELD:
            raise ValidationFailed(f"Capture {record.id} is {record.state.value}, not held; nothing to release.")
        try:
            sale = parse_capture(
                record.text.split("\n"), self._layout, store_id=self._store_id, lane=self._lane, tz=self._tz
            )
        except CaptureUnparsed as exc:
            raise ValidationFailed(f"Capture {record.id} does not read as a sale: {exc.message}") from None
        return await self._send(record.id, capture_digest(record.text), record.text, sale, actor=actor)

    async def discard(self, capture_id: str, *, actor: str = "manager") -> None:
        """Delete a held or unparsed capture (its text may hold card data); recorded in the audit log."""
        record = await self.show(capture_id)
        if record.state is CaptureState.SENT:
            raise ValidationFailed(f"Capture {record.id} was already sent as receipt {record.receipt_id}.")

        def remove(session: UnitOfWork) -> None:
            captures.remove(session, record.id)
            audit.append(
                session,
                at=self._clock(),
                actor=actor,
                action="capture.discarded",
                subject=record.id,
                detail={"state": record.state.value},
            )

        await self._db.write(remove)


def _resolve(session: UnitOfWork, capture_id: str) -> CaptureRecord:
    record = captures.get(session, capture_id)
    if record is not None:
        return record
    matches = captures.find(session, capture_id) if len(capture_id) >= 4 else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValidationFailed(f"More than one capture starts with {capture_id!r}; give more of the id.")
    raise NotFound(f"No capture {capture_id!r}.")
