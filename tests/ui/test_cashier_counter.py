"""The cashier at a real pace: the sale at hand never changes under their hands, a failure cannot be
missed, the status bar says what stands now, and the window fits a till's screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QAbstractButton, QApplication
from pytestqt.qtbot import QtBot

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk import DeliveryView, ReceiptChoice
from app.ui.cashier.alerts import FailureAlert
from app.ui.cashier.window import CashierWindow
from app.ui.status import SHOWN_ERROR_S
from app.ui.widgets.touch import MIN_BUTTON_PX, MIN_CHOICE_PX
from tests.ui.conftest import Kiosk, from_loop, until

WALK_IN: dict[str, Any] = {"customer": None}
FAILED = DeliveryState.FAILED


def shown(cashier: CashierWindow) -> str | None:
    return cashier.panel.sale.receipt_id if cashier.panel.sale is not None else None


def pointer_off_the_list(cashier: CashierWindow) -> CashierWindow:
    """Start with the pointer away from the list: a pointer an earlier test left where this window
    opened would hold the panel, as a real one does."""
    QApplication.sendEvent(cashier.sales.table.viewport(), QEvent(QEvent.Type.Leave))
    return cashier


async def second_sale_waits(kiosk: Kiosk, held: str) -> str:
    """Ring up a sale; assert it is listed and counted as waiting while the panel keeps `held`."""
    cashier = pointer_off_the_list(kiosk.shell.cashier)
    rows = cashier.sales.model.rowCount()
    new = await kiosk.post_sale(**WALK_IN)
    await until(lambda: cashier.sales.model.rowCount() == rows + 1, what="the new sale listed")
    await until(lambda: cashier.waiting >= 1, what="the new sale counted as waiting")
    assert shown(cashier) == held
    assert cashier.sales.highlighted() == held
    assert cashier.sales.new_button.isVisibleTo(cashier) and cashier.sales.new_button.text().startswith("1 new")
    return new.receipt_id


def test_a_new_sale_waits_while_the_cashier_types_and_the_new_button_jumps_to_it(drive: Any, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        panel = cashier.panel
        first = await kiosk.post_sale(**WALK_IN)
        await until(lambda: shown(cashier) == first.receipt_id, what="the first sale shown")
        await from_loop(lambda: qtbot.keyClicks(panel.email, "ana@exam"))
        newer = await second_sale_waits(kiosk, first.receipt_id)
        assert panel.email.text() == "ana@exam"
        assert panel.sale_tag.text().startswith(f"Sale {first.sale_id} \u00b7 $")

        await from_loop(lambda: qtbot.mouseClick(cashier.sales.new_button, Qt.MouseButton.LeftButton))
        await until(lambda: shown(cashier) == newer, what="the newest sale shown")
        assert cashier.sales.highlighted() == newer
        assert cashier.waiting == 0 and not cashier.sales.new_button.isVisibleTo(cashier)

    drive(body)


def test_a_new_sale_waits_while_a_delivery_is_selected(drive: Any, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        panel = cashier.panel
        first = await kiosk.post_sale(**WALK_IN)
        await until(lambda: shown(cashier) == first.receipt_id)
        await from_loop(lambda: qtbot.keyClicks(panel.email, "ana@example.com"))
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: panel.deliveries.rowCount() == 1 and panel.email.text() == "", what="sent")
        panel.deliveries.setFocus()
        panel.deliveries.selectRow(0)
        assert panel.deliveries.selected() is not None
        await second_sale_waits(kiosk, first.receipt_id)

    drive(body)


def test_after_choosing_an_older_sale_a_new_one_waits_and_the_highlight_stays_on_the_sale_shown(
    drive: Any,
) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        first = await kiosk.post_sale(**WALK_IN)
        second = await kiosk.post_sale(**WALK_IN)
        await until(lambda: cashier.sales.model.find(second.receipt_id) == 1, what="the second sale listed")
        if shown(cashier) != second.receipt_id:  # it waited (the cashier was not idle): go to it
            cashier.show_newest()
        await until(lambda: shown(cashier) == second.receipt_id, what="the newest sale shown")
        assert cashier.sales.model.receipt_at(1) == second.receipt_id  # the newest is at the bottom
        cashier.sales.table.selectRow(0)  # the cashier chooses the older sale...
        third = await kiosk.post_sale(**WALK_IN)  # ...and a sale arrives while it loads
        await until(lambda: shown(cashier) == first.receipt_id, what="the chosen sale shown")
        await until(lambda: cashier.sales.model.find(third.receipt_id) == 2 and cashier.waiting == 1)
        assert shown(cashier) == first.receipt_id
        assert cashier.sales.highlighted() == first.receipt_id

    drive(body)


def test_the_list_never_moves_the_row_under_the_pointer(drive: Any) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        table = cashier.sales.table
        for _ in range(3):
            await kiosk.post_sale(**WALK_IN)
        await until(lambda: table.model().rowCount() == 3 and cashier.panel.sale is not None)
        newest = cashier.sales.model.newest()
        await until(lambda: shown(cashier) == newest or cashier.waiting > 0, what="the newest shown, or waiting")
        if shown(cashier) != newest:  # a sale came while the panel loaded the one before: it waited
            cashier.show_newest()
        await until(lambda: shown(cashier) == newest, what="the newest sale shown")
        under = table.indexAt(QPoint(5, table.rowViewportPosition(1) + 2)).row()
        viewport = table.viewport()
        QApplication.sendEvent(viewport, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
        assert cashier.sales.pointer_over
        before = [table.rowViewportPosition(r) for r in range(3)]
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: table.model().rowCount() == 4 and cashier.waiting == 1, what="the sale listed, waiting")
        assert [table.rowViewportPosition(r) for r in range(3)] == before
        assert table.indexAt(QPoint(5, table.rowViewportPosition(1) + 2)).row() == under
        assert shown(cashier) == newest  # the pointer over the list holds the panel too
        QApplication.sendEvent(viewport, QEvent(QEvent.Type.Leave))
        assert not cashier.sales.pointer_over

    drive(body)


def test_a_failed_text_raises_an_alert_and_is_sent_another_way_in_three_clicks(drive: Any, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        panel = cashier.panel
        beeps: list[None] = []
        cashier.alerts.sound = lambda: beeps.append(None)
        kiosk.sandbox.app.state.faults.configure(error_rate=1.0, error_status=400, providers=["twilio"])  # type: ignore[attr-defined]
        sale = await kiosk.post_sale(**WALK_IN)
        await until(lambda: shown(cashier) == sale.receipt_id)
        cashier.activateWindow()
        await until(lambda: QApplication.activeWindow() is cashier, what="the cashier window active")
        panel.set_choice(ReceiptChoice.SMS)
        panel.consent.setChecked(True)
        panel.phone.setText("(217) 555-0142")
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: cashier.alerts.alerts, what="the failure alert")

        (row,) = cashier.alerts.rows
        assert row.isVisibleTo(cashier)
        words = row.label.text()
        assert f"Sale {sale.sale_id}" in words and "text message" in words and "400" in words
        assert "Error" not in words.replace("error", "")  # no exception class names
        assert len(beeps) == 1
        assert cashier.failures.text() == "\u26a0 1 failed receipt"

        await until(lambda: cashier.status_panel.texts[2].startswith("Last error: "), what="status")
        panel.set_choice(ReceiptChoice.NONE)  # the cashier has moved on; the alert still brings the sale back
        clicks = 0

        def click(button: QAbstractButton) -> None:
            nonlocal clicks
            clicks += 1
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

        await from_loop(lambda: click(row.switch_button))
        await until(lambda: panel.choice() is ReceiptChoice.EMAIL and panel.email.isEnabled(), what="email chosen")
        assert panel.email.hasFocus()  # the cursor waits in the field: the cashier just types
        await from_loop(lambda: qtbot.keyClicks(panel.email, "ana@example.com"))
        assert panel.email.text() == "ana@example.com"
        await from_loop(lambda: click(panel.send_button))
        await until(lambda: any(d.state is DeliveryState.SENT for d in panel.deliveries.deliveries), what="email sent")
        assert clicks <= 3
        assert not cashier.alerts.alerts and not cashier.alerts.isVisibleTo(cashier)
        assert cashier.failures.text() == ""

    drive(body)


def test_retry_on_the_alert_itself_and_the_status_bar_clears_once_the_provider_sends(drive: Any, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        panel = cashier.panel
        cashier.alerts.sound = lambda: None
        faults = kiosk.sandbox.app.state.faults  # type: ignore[attr-defined]
        faults.configure(error_rate=1.0, error_status=400, providers=["twilio"])
        sale = await kiosk.post_sale(**WALK_IN)
        await until(lambda: shown(cashier) == sale.receipt_id)
        status = cashier.status_panel
        panel.set_choice(ReceiptChoice.SMS)
        panel.phone.setText("(217) 555-0142")
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))  # no consent yet
        await until(lambda: "text message" in status.texts[2], what="the shown error in the status bar")
        cashier.banner.dismiss()
        assert status.texts[2] == ""  # read and dismissed: no longer a status

        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: "text message" in status.texts[2])
        now = [1000.0]
        status.clock = lambda: now[0]
        status.show_last_error(cashier.banner.message)
        now[0] += SHOWN_ERROR_S
        monitor = kiosk.shell.monitor
        assert monitor.latest is not None
        status.show_health(monitor.latest)
        assert status.texts[2] == ""  # undismissed, it goes a minute later
        cashier.banner.dismiss()

        panel.consent.setChecked(True)
        await from_loop(lambda: qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton))
        await until(lambda: cashier.alerts.alerts, what="the failure alert")
        assert panel.deliveries.selected() is None and panel.retry_button.isEnabled()  # no row to select first
        await until(lambda: "twilio" in status.texts[2], timeout=10, what="the error in the status bar")

        faults.clear()
        (row,) = cashier.alerts.rows
        await from_loop(lambda: qtbot.mouseClick(row.retry_button, Qt.MouseButton.LeftButton))
        await until(lambda: any(d.state is DeliveryState.SENT for d in panel.deliveries.deliveries), what="resent")
        assert not cashier.alerts.alerts
        await until(lambda: status.texts[2] == "", timeout=10, what="the status bar's error cleared")

    drive(body)


def test_the_window_fits_a_till_screen_and_its_controls_are_big_enough(drive: Any, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = pointer_off_the_list(kiosk.shell.cashier)
        panel = cashier.panel
        sale = await kiosk.post_sale(customer={"name": "Ana Garcia", "email": "ana.garcia@example.com"})
        await until(lambda: shown(cashier) == sale.receipt_id)
        cashier.alerts.sound = lambda: None
        long_problem = "Twilio answered 400: The 'To' number +12175550142 is not a valid phone number (error 21211)."
        for n in range(3):  # more failures than are shown at once
            alert = FailureAlert(
                f"d{n}", sale.receipt_id, sale.sale_id, Channel.SMS, "(***) ***-0142", FAILED, long_problem
            )
            cashier.alerts.raise_alert(alert)
        panel.deliveries.set_deliveries((DeliveryView("d0", Channel.SMS, "(***) ***-0142", FAILED, 1, long_problem),))
        table = cashier.sales.table
        for width, height in ((1280, 800), (1366, 768)):
            await from_loop(lambda w=width, h=height: (cashier.resize(w, h), QApplication.processEvents()))
            assert cashier.width() <= width and cashier.height() <= height
            assert not table.horizontalScrollBar().isVisible(), (width, table.horizontalScrollBar().maximum())
            state = table.model().columnCount() - 1
            assert table.columnViewportPosition(state) + table.columnWidth(state) <= table.viewport().width()
            assert table.columnWidth(state) >= table.fontMetrics().horizontalAdvance("Email delivered")
            assert not panel.deliveries.horizontalScrollBar().isVisible()
        assert panel.send_button.height() >= MIN_BUTTON_PX
        text = panel.choices.button(1)
        assert text.height() >= MIN_CHOICE_PX
        await from_loop(lambda: qtbot.mouseClick(text, Qt.MouseButton.LeftButton, pos=QPoint(text.width() - 2, 1)))
        assert panel.choice() is ReceiptChoice.SMS  # the edge of the button, far from its dot, still counts

    drive(body)
