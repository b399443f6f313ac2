"""Reprint: a resend on the PRINT channel, to the lane's printer, with a reason kept in the audit log.

A real runtime on a SQLite file with the dummy printer of the settings, whose spool file receives
each job's ESC/POS bytes; the command line is run in this process on the same data folder.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.cli import main
from app.config.settings import PrinterSettings, Settings, load_settings
from app.devices.escpos import encode
from app.domain.channels import Channel, Language
from app.domain.errors import ConfigurationError, NotFound, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.printdoc import Paper
from app.main import Runtime, build_runtime
from app.rendering.print_receipt import print_receipt
from app.services.printing import PRINTER_PROVIDER
from app.storage.models import AuditRow
from tests.conftest import new_database, wait_until

Payload = Callable[..., dict[str, Any]]


def printer_settings(spool: Path) -> Settings:
    return Settings(routing={}, printer=PrinterSettings(enabled=True, kind="dummy", spool=str(spool), paper=58))


async def sell(rt: Runtime, payload: dict[str, Any]) -> str:
    event = TriggerEvent("pos-api", "e1", parse_sale(payload), datetime.now(UTC), channels=())
    return (await rt.checkout.accept(event)).receipt_id


async def test_a_reprint_prints_the_same_receipt_again_and_is_audited(tmp_path: Path, sale_payload: Payload) -> None:
    spool = tmp_path / "spool.escpos"
    new_database(tmp_path)
    rt = build_runtime(printer_settings(spool), data=tmp_path, secrets={})
    try:
        payload = sale_payload("shopify-5000000007")
        receipt_id = await sell(rt, payload)
        rt.start_dispatching()
        delivery_id = await rt.receipts.reprint(receipt_id, reason="paper jammed", actor="os:test")
        await wait_until(lambda: spool.exists() and spool.stat().st_size > 0)
        expected = encode(
            print_receipt(parse_sale(payload), rt.settings.store.profile(), Language.EN, paper=Paper.MM58)
        )
        assert spool.read_bytes() == expected
        detail = await rt.receipts.get(receipt_id)
        (printed,) = [d for d in detail.deliveries if d.id == delivery_id]
        assert (printed.channel, printed.recipient) == (Channel.PRINT, PRINTER_PROVIDER)
        entries = await rt.db.read(_resent_entries)
        assert entries == [("os:test", receipt_id, "print", "paper jammed")]
    finally:
        await rt.close()


def _resent_entries(session: Any) -> list[tuple[str, str, str, str]]:
    rows = session.scalars(select(AuditRow).where(AuditRow.action == "receipt.resent")).all()
    return [(r.actor, r.subject, json.loads(r.detail)["channel"], json.loads(r.detail)["reason"]) for r in rows]


async def test_a_reprint_needs_a_reason_no_contact_and_a_printer(tmp_path: Path, sale_payload: Payload) -> None:
    new_database(tmp_path)
    rt = build_runtime(printer_settings(tmp_path / "spool.escpos"), data=tmp_path, secrets={})
    try:
        receipt_id = await sell(rt, sale_payload())
        with pytest.raises(ValidationFailed, match="Say why"):
            await rt.receipts.reprint(receipt_id, reason="  ", actor="os:test")
        with pytest.raises(ValidationFailed, match="leave the contact empty"):
            await rt.receipts.resend(receipt_id, Channel.PRINT, "a@example.com", reason="jam", actor="os:test")
        with pytest.raises(ValidationFailed, match="card number"):
            await rt.receipts.reprint(receipt_id, reason="card 4242 4242 4242 4242", actor="os:test")
        with pytest.raises(NotFound):
            await rt.receipts.reprint("nope", reason="jam", actor="os:test")
        assert (await rt.receipts.get(receipt_id)).deliveries == ()
        assert await rt.db.read(_resent_entries) == []
    finally:
        await rt.close()
    new_database(tmp_path / "off")
    off = build_runtime(Settings(routing={}), data=tmp_path / "off", secrets={})
    try:
        with pytest.raises(ConfigurationError, match="No receipt printer is set up on this lane"):
            await off.receipts.reprint("any", reason="jam", actor="os:test")
    finally:
        await off.close()


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """`main` sets up the process's logging; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level, excepthook = list(root.handlers), root.level, threading.excepthook
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    threading.excepthook = excepthook
    logging.captureWarnings(False)


@pytest.mark.usefixtures("cli_logging")
def test_the_command_line_queues_a_reprint_and_refuses_a_contact(
    tmp_path: Path, sale_payload: Payload, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool.escpos"
    config = tmp_path / "receiptdesk.toml"
    config.write_text(f'[printer]\nenabled = true\nkind = "dummy"\nspool = {json.dumps(str(spool))}\n')
    data = tmp_path / "data"

    async def ring_up() -> str:
        new_database(data)
        rt = build_runtime(load_settings(config), data=data, secrets={}, sending=False)
        try:
            return await sell(rt, sale_payload())
        finally:
            await rt.close()

    receipt_id = asyncio.run(ring_up())
    common = ["--config", str(config), "--data-dir", str(data), "--log-dir", str(tmp_path / "logs")]
    resend = ["receipts", "resend", receipt_id, "--channel", "print", "--reason", "paper jammed"]
    assert main([*resend, "--to", "a@example.com", *common]) != 0
    assert "--to is not used with --channel print" in capsys.readouterr().err
    assert main(["receipts", "resend", receipt_id, "--channel", "email", "--reason", "x", *common]) != 0
    assert "--to is needed with --channel email" in capsys.readouterr().err
    assert main([*resend, *common]) == 0
    assert "a running `receiptdesk serve` or kiosk prints it" in capsys.readouterr().out

    async def printed() -> list[tuple[str, str, str, str]]:
        new_database(data)
        rt = build_runtime(load_settings(config), data=data, secrets={}, sending=False)
        try:
            rt.start_dispatching()
            await wait_until(lambda: spool.exists() and spool.stat().st_size > 0)
            return await rt.db.read(_resent_entries)
        finally:
            await rt.close()

    (entry,) = asyncio.run(printed())
    assert entry[1:] == (receipt_id, "print", "paper jammed")
