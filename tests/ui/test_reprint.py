"""Reprint from both windows: the cashier's one button, the manager's with a reason; the job reaches
the dummy printer's spool file (the kiosk's `[printer]` is the dummy, `kind = "dummy"`)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.devices.escpos import encode
from app.devices.printer import DummyPrinter
from app.domain.channels import Channel
from app.services.printing import PRINTER_PROVIDER, PrinterAdapter
from app.storage.models import AuditRow
from tests.rendering.test_barcode_fit import barcodes
from tests.ui.conftest import MANAGER, PIN, Drive, Kiosk, from_loop, type_pin, until
from tests.ui.test_manager import open_manager

LONG_ID = "shopify-5000000007"  # the sale id: its barcode once overflowed the paper


def spool_of(kiosk: Kiosk) -> tuple[PrinterAdapter, Path]:
    adapter = kiosk.runtime.adapters[PRINTER_PROVIDER]
    assert isinstance(adapter, PrinterAdapter) and isinstance(adapter.printer, DummyPrinter)
    assert adapter.printer.spool is not None
    return adapter, adapter.printer.spool


async def resent(kiosk: Kiosk) -> list[tuple[str, str, str, str]]:
    rows = await kiosk.runtime.db.read(
        lambda s: list(s.scalars(select(AuditRow).where(AuditRow.action == "receipt.resent")))
    )
    return [(r.actor, r.subject, json.loads(r.detail)["channel"], json.loads(r.detail)["reason"]) for r in rows]


def test_the_cashier_reprints_the_sale_shown_with_one_button(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        adapter, spool = spool_of(kiosk)
        panel = kiosk.shell.cashier.panel
        result = await kiosk.post_sale(sale_id=LONG_ID, customer=None)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == result.receipt_id)
        assert not spool.exists()  # nothing printed at checkout
        assert panel.reprint_button.isEnabled() and panel.reprint_result.text() == ""
        await from_loop(lambda: qtbot.mouseClick(panel.reprint_button, Qt.MouseButton.LeftButton))
        expected = encode(await adapter.document(receipt_id=result.receipt_id))
        await until(lambda: spool.exists() and spool.stat().st_size >= len(expected), what="the job in the spool")
        assert spool.read_bytes() == expected
        (barcode,) = barcodes(expected)
        assert barcode.text == f"RD-{LONG_ID}" and barcode.dots <= 576
        assert panel.reprint_result.text() == f"Sale {LONG_ID}'s receipt is on its way to the printer."
        await until(lambda: any(d.channel is Channel.PRINT for d in panel.deliveries.deliveries), what="the delivery")
        assert await resent(kiosk) == [("kiosk-cashier", result.receipt_id, "print", "Reprinted at the till")]

    drive(body)


def test_the_manager_reprints_with_a_reason_and_nothing_else(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        adapter, spool = spool_of(kiosk)
        result = await kiosk.post_sale(customer=None)
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == result.receipt_id)
        await from_loop(lambda: qtbot.mouseClick(detail.reprint_button, Qt.MouseButton.LeftButton))
        await until(lambda: "Say why" in manager.banner.message, what="the reason to be asked for")
        assert not spool.exists() and await resent(kiosk) == []
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "Customer's copy was smudged"))
        await from_loop(lambda: qtbot.mouseClick(detail.reprint_button, Qt.MouseButton.LeftButton))
        expected = encode(await adapter.document(receipt_id=result.receipt_id))
        await until(lambda: spool.exists() and spool.stat().st_size >= len(expected), what="the job in the spool")
        assert spool.read_bytes() == expected
        # the job reaches the spool before the reprint's answer reaches the window
        await until(lambda: detail.reprint_result.text().endswith("receipt is on its way to the lane's printer."))
        assert detail.resend_reason.text() == "" and detail.resend_to.text() == ""
        assert await resent(kiosk) == [(MANAGER, result.receipt_id, "print", "Customer's copy was smudged")]
        await until(
            lambda: detail.detail is not None and any(d.channel is Channel.PRINT for d in detail.detail.deliveries),
            what="the reprint in the timeline",
        )

    drive(body)
