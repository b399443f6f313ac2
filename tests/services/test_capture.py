"""Print-stream capture end to end over a real SQLite file: stream bytes in, receipts (or holds) out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config.settings import CaptureSettings, Settings
from app.demo.wiring import DEMO_PROFILE, sandbox_secrets, sandbox_settings
from app.devices.escpos_stream import EscPosStream, ReceiptComplete
from app.devices.passthrough import TcpPassthrough
from app.domain.capture import CaptureRecord, CaptureState, build_layout
from app.domain.channels import Channel
from app.domain.errors import NotFound, ValidationFailed
from app.main import build_capture, build_runtime
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus
from app.services.capture import CaptureService
from app.services.checkout import CheckoutService
from app.storage import audit, captures
from app.storage.database import Database
from app.storage.models import AuditRow, CaptureRow, DeliveryRow, ReceiptRow, SaleRow
from tests.conftest import new_database, wait_until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "escpos"
CHICAGO = ZoneInfo("America/Chicago")


def stream(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def service(db: Database, preset: str = "classic") -> CaptureService:
    checkout = CheckoutService(
        db, ReceiptRenderer(), DEMO_PROFILE, {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}, EventBus()
    )
    return CaptureService(db, checkout, build_layout(preset), name="lane3", store_id="store-0042", tz=CHICAGO)


async def count(db: Database, model: type) -> int:
    return int(await db.read(lambda s: s.scalar(select(func.count()).select_from(model))))


async def fed(capture: CaptureService, data: bytes, chunk: int = 7) -> None:
    await capture.start()
    try:
        for at in range(0, len(data), chunk):
            capture.tap(data[at : at + chunk])
        await capture.drain()
    finally:
        await capture.stop()


async def test_a_clean_capture_gives_one_receipt_and_a_replay_none(db: Database) -> None:
    capture = service(db)
    await fed(capture, stream("classic.bin"))
    [record] = await capture.list_captures()
    assert record.state is CaptureState.SENT and record.receipt_id
    assert record.sale_id == "20261128-3-04521"
    assert await count(db, ReceiptRow) == 1
    sale = await db.read(lambda s: s.scalars(select(SaleRow)).one())
    assert sale.source == "capture:lane3" and sale.card_last4 and "4242" in sale.card_last4
    assert sale.occurred_at.astimezone(CHICAGO).hour == 10

    await fed(capture, stream("classic.bin"), chunk=1)  # the same stream again, byte by byte
    assert await count(db, ReceiptRow) == 1
    assert await count(db, CaptureRow) == 1


async def test_the_same_receipt_replayed_through_ingest_is_a_duplicate(db: Database) -> None:
    capture = service(db, "compact")
    lines = ["Receipt R-1", "Lane 5  Cashier: MARIA"]
    first = await capture.ingest(lines)
    again = await capture.ingest(lines)
    assert first.capture.state is CaptureState.UNPARSED and again.capture.id == first.capture.id
    assert await count(db, CaptureRow) == 1


async def test_a_full_card_number_is_scrubbed_before_storing_and_the_receipt_goes_out(db: Database) -> None:
    capture = service(db, "compact")
    await fed(capture, stream("compact_full_card.bin"), chunk=64)
    [record] = await capture.list_captures()
    assert record.state is CaptureState.SENT
    assert "5555 5555 5555 4444" not in record.text and "************4444" in record.text
    assert "12/27" not in record.text and "Exp **/**" in record.text
    stored = await db.read(lambda s: (s.scalars(select(SaleRow.payload)).one(), s.scalars(select(ReceiptRow)).one()))
    assert "5555555555554444" not in stored[0].replace(" ", "")
    assert await count(db, ReceiptRow) == 1


async def test_a_dirty_capture_is_held_nothing_sent_and_release_sends_it(db: Database) -> None:
    capture = service(db)
    await fed(capture, stream("classic_track_data.bin"))
    [held] = await capture.list_captures(CaptureState.HELD)
    assert "track data" in (held.reason or "")
    assert "4111111111111111" not in held.text  # the suspect digits are blanked even when held
    assert await count(db, ReceiptRow) == 0 and await count(db, DeliveryRow) == 0
    entries = await db.read(lambda s: audit.recent(s, action="capture.held"))
    assert [e.subject for e in entries] == [held.id]

    await fed(capture, stream("classic_track_data.bin"))  # printed again: still one held capture
    assert await count(db, CaptureRow) == 1 and await count(db, ReceiptRow) == 0

    outcome = await capture.release(held.id[:8])
    assert outcome.capture.state is CaptureState.SENT and outcome.result is not None
    assert await count(db, ReceiptRow) == 1
    released = await db.read(lambda s: audit.recent(s, action="capture.released"))
    assert released[0].subject == held.id and released[0].actor == "manager"
    with pytest.raises(ValidationFailed):
        await capture.release(held.id)
    verified = await db.read(lambda s: audit.verify(s))
    assert verified.ok


async def test_an_unreadable_receipt_is_kept_unparsed_and_can_be_discarded(db: Database) -> None:
    capture = service(db, "compact")  # the classic stream does not read with the compact layout
    await fed(capture, stream("classic.bin"))
    [record] = await capture.list_captures()
    assert record.state is CaptureState.UNPARSED and record.reason
    assert await count(db, ReceiptRow) == 0
    with pytest.raises(ValidationFailed):
        await capture.release(record.id)
    await capture.discard(record.id)
    assert await count(db, CaptureRow) == 0
    with pytest.raises(NotFound):
        await capture.show(record.id)


async def test_two_receipts_in_one_stream_are_two_sales(db: Database) -> None:
    capture = service(db, "compact")
    await fed(capture, stream("compact.bin") + stream("compact_full_card.bin"), chunk=1000)
    states = sorted(r.state.value for r in await capture.list_captures())
    assert states == ["sent", "sent"]
    assert await count(db, ReceiptRow) == 2


def receipt_lines(name: str) -> tuple[str, ...]:
    [lines] = [e.lines for e in EscPosStream().feed(stream(name)) if isinstance(e, ReceiptComplete)]
    return lines


async def test_a_capture_and_its_receipt_commit_together_or_not_at_all(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after checkout wrote the receipt, inside the same transaction, leaves neither row."""
    capture = service(db)
    lines = receipt_lines("classic.bin")
    real_add = captures.add

    def fail_after_the_receipt(session: Session, **kwargs: Any) -> CaptureRecord:
        assert session.scalar(select(func.count()).select_from(ReceiptRow)) == 1  # written, not committed
        raise RuntimeError("disk full while recording the capture")

    monkeypatch.setattr(captures, "add", fail_after_the_receipt)
    with pytest.raises(RuntimeError, match="disk full"):
        await capture.ingest(lines)
    for model in (CaptureRow, ReceiptRow, SaleRow, DeliveryRow, AuditRow):
        assert await count(db, model) == 0, model.__name__

    monkeypatch.setattr(captures, "add", real_add)
    outcome = await capture.ingest(lines)  # printed again: nothing of the failed try stands in the way
    assert outcome.capture.state is CaptureState.SENT and not outcome.duplicate
    assert outcome.result is not None and outcome.capture.receipt_id == outcome.result.receipt_id
    assert (await count(db, CaptureRow), await count(db, ReceiptRow)) == (1, 1)


async def test_the_runtime_wiring_captures_a_tcp_print_job_end_to_end(db: Database) -> None:
    """`[capture]` in tcp mode: a POS prints to the listener, the printer gets every byte, a receipt is made."""
    received = bytearray()
    printed = asyncio.Event()  # the printer saw the end of the job: every byte was forwarded and tapped

    async def printer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            received.extend(data)
        printed.set()
        writer.close()

    printer_server = await asyncio.start_server(printer, "127.0.0.1", 0)
    printer_port = printer_server.sockets[0].getsockname()[1]
    options = {"enabled": True, "mode": "tcp", "listen_host": "127.0.0.1", "listen_port": 0, "name": "lane3"}
    options |= {"printer_host": "127.0.0.1", "printer_tcp_port": printer_port, "timezone": "America/Chicago"}
    settings = Settings(capture=CaptureSettings.model_validate(options))
    checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, {Channel.EMAIL: "sendgrid"}, EventBus())
    capture, source = build_capture(settings, db, checkout, listen=True)
    assert isinstance(source, TcpPassthrough)
    capture.launch(source)
    try:
        await wait_until(lambda: capture.state == "forwarding", timeout=60)
        data = stream("classic.bin")
        _, writer = await asyncio.open_connection("127.0.0.1", source.port)
        writer.write(data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        # The pass-through writes the printer's end of job only after tapping every byte, so once the
        # printer saw it the receipt is queued for capture; `drain` waits until it was processed.
        await asyncio.wait_for(printed.wait(), 60)
        await capture.drain()
    finally:
        await capture.stop()
        printer_server.close()
        await printer_server.wait_closed()
    assert bytes(received) == data
    assert await count(db, ReceiptRow) == 1
    [record] = await capture.list_captures()
    assert record.state is CaptureState.SENT and record.source == "capture:lane3"


async def test_a_pass_through_that_cannot_open_its_ports_makes_health_fail(tmp_path: Path) -> None:
    """If the POS's printer port cannot be opened, its receipts stop printing: health must say so."""
    base = sandbox_settings(Settings(), "http://127.0.0.1:9")
    options = {"enabled": True, "mode": "serial", "pos_port": str(tmp_path / "no-such-pos-port")}
    options |= {"printer_port": str(tmp_path / "no-such-printer-port")}
    settings = base.model_copy(update={"capture": CaptureSettings.model_validate(options)})
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets("http://127.0.0.1:9"))
    try:
        runtime.start_dispatching()
        capture = runtime.capture
        assert capture is not None
        await wait_until(lambda: capture.state == "failed", timeout=60)
        health = await runtime.health.check()
        assert health.capture is not None and health.capture.startswith("failed: ")
        assert "no-such-pos-port" in health.capture
        assert health.ok is False
    finally:
        await runtime.close()
