"""The manager's window as a manager uses it: every action confirms itself and the lists follow it,
times carry their dates when the results span days, the timeline speaks plainly, headers fit, a text
to a new number needs the customer's consent, the customer screen never takes the manager's focus,
and the manager's own colours pass WCAG AA."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QHeaderView
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.domain.delivery import DeliveryState
from app.services.receipts import NO_CONSENT
from app.storage.models import ConsentRow
from app.ui import theme
from app.ui.formatting import money
from app.ui.manager.detail import AGREED_AT_DESK
from app.ui.manager.when import list_times, moment
from tests.ui.conftest import Drive, Kiosk, from_loop, until
from tests.ui.test_attempt_fates import health_page_with_held, signed_in
from tests.ui.test_manager import audit_actions

Payload = Callable[..., dict[str, Any]]


def contrast(foreground: QColor, background: QColor) -> float:
    """The WCAG 2 contrast ratio of two opaque colours."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def headers_fit(header: QHeaderView, labels: list[str]) -> list[str]:
    """The header labels whose text is wider than their section (clipped)."""
    metrics = header.fontMetrics()
    return [text for i, text in enumerate(labels) if header.sectionSize(i) < metrics.horizontalAdvance(text) + 8]


# -- times -----------------------------------------------------------------------------------------


def test_times_carry_their_date_only_when_the_results_span_days() -> None:
    today = date(2026, 12, 5)
    afternoon = datetime(2026, 12, 5, 15, 10).astimezone()
    evening = datetime(2026, 12, 5, 21, 10).astimezone()
    yesterday = datetime(2026, 12, 4, 15, 10).astimezone()
    assert list_times([afternoon, evening], today) == ["3:10 PM", "9:10 PM"]  # never 21:10
    assert list_times([afternoon, yesterday], today) == ["Dec 5, 3:10 PM", "Dec 4, 3:10 PM"]
    assert moment(datetime(2025, 3, 12, 0, 5).astimezone(), today) == "Mar 12, 2025, 12:05 AM"


def test_the_managers_date_pickers_read_as_us_dates_with_weeks_from_sunday(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager = await signed_in(kiosk, qtbot)
        pickers = (manager.receipts.first, manager.receipts.last, manager.export.first, manager.export.last)
        for picker in pickers:
            calendar = picker.calendarWidget()
            assert calendar.firstDayOfWeek() == Qt.DayOfWeek.Sunday
            assert picker.text() == picker.date().toString("MMM d, yyyy")  # `Dec 5, 2026`, never `5 12 2026`
            rows = 7  # the weekday header and six weeks: the last row is not cut off
            assert calendar.minimumHeight() >= calendar.fontMetrics().height() * rows

    drive(body)


# -- the receipts list and the timeline ------------------------------------------------------------


def test_a_resend_refreshes_the_list_and_says_what_it_did(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        result = await kiosk.post_sale(customer={"email": "jon@gmial.com", "channels": ["email"]})
        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == result.receipt_id)
        await from_loop(lambda: qtbot.keyClicks(detail.resend_to, "jon@gmail.com"))
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "misspelled"))
        await from_loop(lambda: qtbot.mouseClick(detail.resend_button, Qt.MouseButton.LeftButton))
        await until(lambda: detail.notice.text() != "", what="the confirmation")
        assert detail.notice.text() == f"Sale {result.sale_id}'s receipt is on its way by email to jon@gmail.com."
        await until(lambda: "j***@gmail.com" in page.table.item(0, 5).text(), what="the list row to follow")
        assert page.chosen() == result.receipt_id  # the receipt stays chosen through the refresh
        await until(lambda: page.table.item(0, 6).text() == "Sent, Sent", what="the row to follow the resend out")
        assert detail.notice.isVisible()

    drive(body)


def test_retry_all_failed_refreshes_the_list_and_says_how_many(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        faults = kiosk.sandbox.app.state.faults  # type: ignore[attr-defined]
        faults.configure(error_rate=1.0, error_status=400, providers=["sendgrid"])
        await kiosk.post_sale(customer={"email": "fail@example.com", "channels": ["email"]})

        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        await until(
            lambda: page.detail.detail is not None and page.detail.detail.deliveries[0].state is DeliveryState.FAILED,
            what="the failure",
        )
        page.search()
        await until(lambda: page.table.item(0, 6).text() == "Failed", what="the failure in the list")
        faults.clear()
        await from_loop(lambda: qtbot.mouseClick(page.retry_all, Qt.MouseButton.LeftButton))
        await until(lambda: page.notice.text() != "", what="the confirmation")
        assert page.notice.text() == "1 failed delivery is queued again."
        await until(lambda: page.table.item(0, 6).text() != "Failed", what="the list row to follow")

    drive(body)


def test_the_timeline_header_speaks_plainly_and_shows_ids_on_demand(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        result = await kiosk.post_sale(customer={"email": "ana@example.com", "channels": ["email"]})
        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None)
        assert detail.detail is not None
        s = detail.detail.summary
        assert detail.header.text() == (
            f"Sale {s.sale_id} \u00b7 Lane {s.lane} \u00b7 {money(s.total)} \u00b7 {moment(s.created_at)}"
        )
        assert result.receipt_id not in detail.header.text() and "content" not in detail.header.text()
        assert not detail.ids.isVisible()
        await from_loop(lambda: qtbot.mouseClick(detail.ids_toggle, Qt.MouseButton.LeftButton))
        assert detail.ids.isVisible() and result.receipt_id in detail.ids.text()
        assert detail.detail.content_hash in detail.ids.text()
        await from_loop(lambda: qtbot.mouseClick(detail.copy_ids, Qt.MouseButton.LeftButton))
        clipboard = QGuiApplication.clipboard()
        assert clipboard is not None and result.receipt_id in clipboard.text()
        assert detail.notice.text() == "The receipt's ids are copied."
        # Headers are not clipped: the list's, the timeline's.
        labels = [page.table.horizontalHeaderItem(i).text() for i in range(page.table.columnCount())]
        assert headers_fit(page.table.horizontalHeader(), labels) == []
        tree = detail.timeline
        tree_labels = [tree.headerItem().text(i) for i in range(tree.columnCount())]
        assert headers_fit(tree.header(), tree_labels[:-1]) == []  # the last one stretches

    drive(body)


def test_results_spanning_days_show_their_dates(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        await kiosk.post_sale(customer=None)
        await kiosk.post_sale(customer=None)
        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 2, what="today's receipts")
        assert ":" in page.table.item(0, 0).text() and page.table.item(0, 0).text().endswith("M")  # 12-hour
        today, earlier = page.rows
        yesterday = dataclasses.replace(earlier, created_at=earlier.created_at - timedelta(days=1))
        page.show_rows([today, yesterday])
        assert page.table.item(0, 0).text() == moment(today.created_at)
        assert page.table.item(1, 0).text() == moment(yesterday.created_at)
        assert moment(yesterday.created_at).startswith(f"{yesterday.created_at.astimezone():%b} ")

    drive(body)


# -- consent for a text to a new number ------------------------------------------------------------


def test_a_text_to_a_new_number_needs_the_customers_consent(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        await kiosk.post_sale(customer={"email": "ana@example.com", "channels": ["email"]})
        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None)
        assert not detail.agreed.isVisible()  # an email needs no consent
        detail.resend_channel.setCurrentIndex(detail.resend_channel.findText("Text message"))
        assert detail.agreed.isVisible() and detail.agreed.text() == AGREED_AT_DESK
        await from_loop(lambda: qtbot.keyClicks(detail.resend_to, "(217) 555-0188"))
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "wants it by text"))
        await from_loop(lambda: qtbot.mouseClick(detail.resend_button, Qt.MouseButton.LeftButton))
        await until(lambda: manager.banner.message == NO_CONSENT, what="the consent to be asked for")
        assert detail.detail is not None and len(detail.detail.deliveries) == 1  # nothing sent
        detail.agreed.setChecked(True)
        await from_loop(lambda: qtbot.mouseClick(detail.resend_button, Qt.MouseButton.LeftButton))
        await until(lambda: detail.detail is not None and len(detail.detail.deliveries) == 2, what="the resend")
        rows = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
        desk = [r for r in rows if r.source == "manager_resend:at_desk"]
        assert len(desk) == 1 and desk[0].purpose == "receipts" and desk[0].granted and desk[0].staff
        assert "Reply STOP" in desk[0].text_shown  # the kiosk's own consent wording
        resent = [d for a, d in await audit_actions(kiosk) if a == "receipt.resent"]
        assert len(resent) == 1 and "manager_resend:at_desk" in resent[0]
        assert not detail.agreed.isChecked()  # the next resend asks again

    drive(body)


def test_a_text_to_a_new_number_can_be_agreed_on_the_customer_screen(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        await kiosk.post_sale(customer={"email": "ana@example.com", "channels": ["email"]})
        manager = await signed_in(kiosk, qtbot)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None)
        detail.resend_channel.setCurrentIndex(detail.resend_channel.findText("Text message"))
        assert detail.ask_button.isVisible()
        manager.activateWindow()
        await until(lambda: QApplication.activeWindow() is manager, what="the manager window to have the focus")
        await from_loop(lambda: qtbot.keyClicks(detail.resend_to, "2175550188"))
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "wants it by text"))
        # First the customer says no: nothing is sent.
        await from_loop(lambda: qtbot.mouseClick(detail.ask_button, Qt.MouseButton.LeftButton))
        asker = detail.asker
        await until(asker.isVisible, what="the consent page on the customer screen")
        await from_loop(QApplication.processEvents)
        assert QApplication.activeWindow() is manager  # the question never takes the manager's focus
        assert asker.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        assert asker.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
        assert asker.number.text().replace("\u00a0", " ").replace("\u2011", "-") == "We'll text it to (217) 555-0188"
        assert "Reply STOP" in asker.wording.text() and asker.agree.height() >= 48
        await from_loop(lambda: qtbot.mouseClick(asker.decline, Qt.MouseButton.LeftButton))
        await until(lambda: "did not agree" in detail.notice.text(), what="the refusal")
        assert not asker.isVisible() and detail.detail is not None and len(detail.detail.deliveries) == 1
        # Then yes: the receipt goes, and the ledger says the customer agreed on their screen.
        await from_loop(lambda: qtbot.mouseClick(detail.ask_button, Qt.MouseButton.LeftButton))
        await until(asker.isVisible, what="the consent page again")
        await from_loop(lambda: qtbot.mouseClick(asker.agree, Qt.MouseButton.LeftButton))
        await until(lambda: detail.detail is not None and len(detail.detail.deliveries) == 2, what="the resend")
        assert detail.notice.text().startswith("The customer agreed: sale ")
        rows = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
        screen = [r for r in rows if r.source == "manager_resend:customer_screen"]
        assert len(screen) == 1 and screen[0].text_shown == asker.wording.text()

    drive(body)


# -- held messages ---------------------------------------------------------------------------------


def test_sending_a_held_message_confirms_it(drive: Drive, qtbot: QtBot, sale_payload: Payload) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager, fates = await health_page_with_held(kiosk, qtbot, sale_payload)
        box = manager.health.held
        await from_loop(lambda: qtbot.mouseClick(box.send_buttons[fates.held_id], Qt.MouseButton.LeftButton))
        await until(lambda: box.notice.text() != "", what="the confirmation")
        assert box.notice.text() == "The text to (***) ***-0142 is on its way again."
        assert box.table.rowCount() == 0

    drive(body)


def test_dropping_a_held_message_confirms_it(drive: Drive, qtbot: QtBot, sale_payload: Payload) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager, fates = await health_page_with_held(kiosk, qtbot, sale_payload)
        box = manager.health.held
        box.ask_reason(fates.held_id)
        await from_loop(lambda: qtbot.keyClicks(box.reason, "she showed it at the till"))
        await from_loop(lambda: qtbot.keyClick(box.reason, Qt.Key.Key_Return))
        await until(lambda: box.notice.text() != "", what="the confirmation")
        assert box.notice.text() == "The text to (***) ***-0142 is dropped: it will not be sent again."

    drive(body)


# -- focus and colours -----------------------------------------------------------------------------


def test_a_walk_in_sale_leaves_the_manager_window_in_front_and_focused(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager = await signed_in(kiosk, qtbot)
        manager.raise_()
        manager.activateWindow()
        await until(lambda: QApplication.activeWindow() is manager, what="the manager window to have the focus")
        customer = kiosk.shell.customer
        result = await kiosk.post_sale(customer=None)  # a walk-in: the customer screen offers the choices
        await until(
            lambda: customer.session is not None and customer.session.sale.receipt_id == result.receipt_id,
            what="the offer on the customer screen",
        )
        await from_loop(QApplication.processEvents)  # any activation the offer asked for has happened
        assert QApplication.activeWindow() is manager
        assert not customer.isActiveWindow()
        assert manager.isVisible() and not manager.isMinimized()

    drive(body)


def test_the_managers_own_colours_pass_wcag_aa(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager = await signed_in(kiosk, qtbot)
        export = manager.export
        assert not export.progress.isTextVisible()  # "100%" is no longer drawn over the filled bar
        paper, card = QColor(theme.PAPER), QColor(theme.CARD)
        for state in ("queued", "sending", "sent", "delivered", "unknown", "bounced", "failed", "dead"):
            ratio = contrast(theme.state_colour(state), card)
            assert ratio >= 4.5, f"{state} text on the timeline is {ratio:.1f}:1"
        for name in ("GOOD", "WARN", "BAD", "MUTED", "INK"):
            ratio = contrast(QColor(theme.PALETTE[name]), paper)
            assert ratio >= 4.5, f"{name} text is {ratio:.1f}:1"

    drive(body)
