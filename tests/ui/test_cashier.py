"""The cashier: sees each sale arrive, previews, sends with one action, follows each delivery live."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.domain.delivery import DeliveryState
from app.services.kiosk import ReceiptChoice
from app.storage.models import ConsentRow
from app.ui.formatting import in_store_zone
from tests.ui.conftest import Drive, Kiosk, from_loop, until

WALK_IN: dict[str, Any] = {"customer": None}
"""Sale changes for a customer the register knows nothing about."""


def test_incoming_sale_is_shown_with_customer_preference_and_exact_preview(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        await kiosk.post_sale(customer={"name": "Ana Garcia", "email": "ana.garcia@example.com", "loyalty_id": "LM1"})
        await until(lambda: panel.sale is not None, what="the sale in the panel")
        assert panel.sale is not None
        assert panel.sale.sale_id in panel.header.text()
        assert "Ana Garcia" in panel.customer_label.text()
        assert "a***@example.com" in panel.customer_label.text()
        assert "ana.garcia" not in panel.customer_label.text()  # contacts stay masked
        assert panel.choice() is ReceiptChoice.EMAIL
        assert "<html" in panel.preview.email.toHtml().lower()
        assert panel.preview.sms.toPlainText() == panel.sale.preview.sms_body
        assert "segment" in panel.preview.sms_info.text()
        assert kiosk.shell.cashier.sales.model.rowCount() == 1

    drive(body)


def test_cashier_sends_email_with_one_action_and_sees_it_sent(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        result = await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == result.receipt_id)
        await from_loop(lambda: qtbot.mouseClick(panel.choices.button(0), Qt.MouseButton.LeftButton))
        await from_loop(lambda: qtbot.keyClicks(panel.email, "shopper@example.com"))
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: any(d.state is DeliveryState.SENT for d in panel.deliveries.deliveries), what="sent")
        (delivery,) = panel.deliveries.deliveries
        assert delivery.masked_recipient == "s***@example.com"
        row = kiosk.shell.cashier.sales.model.rows()[0]
        await until(lambda: "Email sent" in row.status, what="the list to show the state")
        assert panel.email.text() == ""

    drive(body)


def test_text_needs_consent_then_failure_is_retried_or_switched(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        faults = kiosk.sandbox.app.state.faults  # type: ignore[attr-defined]
        cashier = kiosk.shell.cashier
        panel = cashier.panel
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None)
        await from_loop(lambda: qtbot.mouseClick(panel.choices.button(1), Qt.MouseButton.LeftButton))
        await from_loop(lambda: qtbot.keyClicks(panel.phone, "(217) 555-0142"))
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: "text message" in cashier.banner.message, what="the consent reminder")
        assert panel.deliveries.rowCount() == 0

        faults.configure(error_rate=1.0, error_status=400, providers=["twilio"])
        cashier.banner.dismiss()
        await from_loop(lambda: qtbot.keyClick(panel.consent, Qt.Key.Key_Space))
        assert panel.consent.isChecked()
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: any(d.state is DeliveryState.FAILED for d in panel.deliveries.deliveries), what="failed")
        panel.deliveries.selectRow(0)
        assert panel.retry_button.isEnabled()

        faults.clear()
        await from_loop(lambda: qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton))
        await until(lambda: any(d.state is DeliveryState.SENT for d in panel.deliveries.deliveries), what="resent")

        panel.deliveries.selectRow(0)
        await from_loop(lambda: qtbot.mouseClick(panel.switch_button, Qt.MouseButton.LeftButton))
        assert panel.choice() is ReceiptChoice.EMAIL
        assert panel.email.isEnabled()

    drive(body)


def test_keyboard_only_send(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = kiosk.shell.cashier
        panel = cashier.panel
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None)
        cashier.activateWindow()
        await until(lambda: QApplication.activeWindow() is cashier, what="the cashier window active")
        await from_loop(lambda: qtbot.keyClick(cashier, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier))
        assert cashier.sales.search_box.hasFocus()
        panel.email.setFocus()
        await from_loop(lambda: qtbot.keyClicks(panel.email, "keys@example.com"))
        await from_loop(lambda: qtbot.keyClick(panel.email, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier))
        await until(lambda: panel.deliveries.rowCount() == 1, what="a delivery queued by Ctrl+Enter")

    drive(body)


def test_earlier_receipts_are_found_by_sale_id_and_time(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        sales = kiosk.shell.cashier.sales
        first = await kiosk.post_sale(**WALK_IN)
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: sales.model.rowCount() == 2)
        await from_loop(lambda: qtbot.keyClicks(sales.search_box, first.sale_id))
        await from_loop(lambda: qtbot.keyClick(sales.search_box, Qt.Key.Key_Return))
        await until(lambda: sales.model.rowCount() == 1, what="one result")
        assert sales.model.rows()[0].sale.sale_id == first.sale_id
        assert not sales.live
        sales.search_box.clear()
        minute = in_store_zone(sales.model.rows()[0].sale.created_at).strftime("%H:%M")  # as the cashier reads it
        await from_loop(lambda: qtbot.keyClicks(sales.search_box, minute))
        await from_loop(lambda: qtbot.keyClick(sales.search_box, Qt.Key.Key_Return))
        await until(lambda: sales.model.rowCount() == 2, what="both sales of this minute")
        await from_loop(lambda: qtbot.mouseClick(sales.today_button, Qt.MouseButton.LeftButton))
        await until(lambda: sales.live and sales.search_box.text() == "", what="back to the live list")

    drive(body)


def test_a_new_sale_does_not_take_the_panel_from_a_busy_cashier(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        first = await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == first.receipt_id)
        await from_loop(lambda: qtbot.keyClicks(panel.email, "typing@exam"))
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: kiosk.shell.cashier.sales.model.rowCount() == 2, what="the second sale listed")
        assert panel.sale is not None and panel.sale.receipt_id == first.receipt_id
        assert panel.email.text() == "typing@exam"

    drive(body)


def test_the_customer_tells_the_cashier_to_stop_texts_and_the_ledger_records_it(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        customer = {"name": "Ana Garcia", "phone": "+12175550177", "channels": ["sms"]}
        sale = await kiosk.post_sale(customer=customer)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == sale.receipt_id)
        await until(lambda: panel.stop_button.isEnabled(), what="the stop button")
        assert panel.stop_texts.isEnabled() and not panel.stop_emails.isEnabled()  # no e-mail on file

        panel.stop_texts.trigger()
        await until(lambda: panel.reprint_result.text() == "No more texts will go to (***) ***-0177.")
        rows = await kiosk.runtime.db.read(
            lambda s: list(s.execute(select(ConsentRow.source, ConsentRow.staff).where(ConsentRow.granted.is_(False))))
        )
        assert {(r.source, r.staff) for r in rows} == {("cashier", "kiosk-cashier")}
        panel.stop_texts.trigger()
        await until(lambda: panel.reprint_result.text() == "(***) ***-0177 had already stopped texts.")

    drive(body)
