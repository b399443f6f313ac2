"""Scanning at the kiosk: the keyboard wedge tells a scanner from typing; scans act on the cashier window."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QWindow
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.services.bus import DeviceStateChanged
from app.services.kiosk import ReceiptChoice
from app.storage import customers
from app.ui.wedge import KeyboardWedge
from tests.ui.conftest import Drive, Kiosk, until

WALK_IN = {"customer": None}


class FakeClock:
    """Milliseconds a test moves forward by hand."""

    def __init__(self) -> None:
        self.ms = 10_000.0

    def __call__(self) -> float:
        return self.ms


@pytest.fixture
def form(qtbot: QtBot) -> tuple[QWidget, QLineEdit, QWindow]:
    """A window with a focused text field, as the cashier's look-up box."""
    widget = QWidget()
    field = QLineEdit()
    QVBoxLayout(widget).addWidget(field)
    qtbot.addWidget(widget)
    widget.show()
    QTest.qWaitForWindowExposed(widget)
    field.setFocus()
    window = widget.windowHandle()
    assert window is not None
    return widget, field, window


@pytest.fixture
def wedge(
    qtbot: QtBot, form: tuple[QWidget, QLineEdit, QWindow]
) -> Iterator[tuple[KeyboardWedge, FakeClock, list[str]]]:
    clock = FakeClock()
    filt = KeyboardWedge(max_gap_ms=40, min_length=6, clock=clock)
    scans: list[str] = []
    filt.sig_scan.connect(scans.append)
    filt.watch(form[0])
    yield filt, clock, scans
    filt.close()
    filt.deleteLater()


def type_keys(window: QWindow, text: str, clock: FakeClock, gap_ms: float) -> None:
    for char in text:
        QTest.keyClick(window, char)
        clock.ms += gap_ms


def test_fast_burst_ending_in_enter_is_a_scan_and_never_reaches_the_field(
    form: tuple[QWidget, QLineEdit, QWindow], wedge: tuple[KeyboardWedge, FakeClock, list[str]], qtbot: QtBot
) -> None:
    _widget, field, window = form
    _filt, clock, scans = wedge
    entered: list[bool] = []
    field.returnPressed.connect(lambda: entered.append(True))
    type_keys(window, "LM12345678", clock, gap_ms=8)
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert scans == ["LM12345678"]
    assert field.text() == ""
    assert entered == []


def test_real_keyboard_timestamps_of_a_burst_are_a_scan(form: tuple[QWidget, QLineEdit, QWindow], qtbot: QtBot) -> None:
    """Without an injected clock the keystrokes' own timestamps decide (QTest sends them back to back)."""
    widget, field, window = form
    filt = KeyboardWedge(max_gap_ms=40, min_length=6)
    scans: list[str] = []
    filt.sig_scan.connect(scans.append)
    filt.watch(widget)
    try:
        for char in "K1A2B3C4D":
            QTest.keyClick(window, char)
        QTest.keyClick(window, Qt.Key.Key_Enter)
    finally:
        filt.close()
        filt.deleteLater()
    assert scans == ["K1A2B3C4D"]
    assert field.text() == ""


def test_slow_typing_reaches_the_field_unchanged(
    form: tuple[QWidget, QLineEdit, QWindow], wedge: tuple[KeyboardWedge, FakeClock, list[str]], qtbot: QtBot
) -> None:
    _widget, field, window = form
    filt, clock, scans = wedge
    entered: list[str] = []
    field.returnPressed.connect(lambda: entered.append(field.text()))
    type_keys(window, "Ana Garcia", clock, gap_ms=140)
    qtbot.waitUntil(lambda: field.text() == "Ana Garcia", timeout=2000)
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert entered == ["Ana Garcia"]
    assert scans == []
    assert filt.holding == ""


def test_a_short_fast_run_with_enter_is_typing(
    form: tuple[QWidget, QLineEdit, QWindow], wedge: tuple[KeyboardWedge, FakeClock, list[str]], qtbot: QtBot
) -> None:
    _widget, field, window = form
    _filt, clock, scans = wedge
    entered: list[str] = []
    field.returnPressed.connect(lambda: entered.append(field.text()))
    type_keys(window, "ok", clock, gap_ms=10)
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert (field.text(), entered, scans) == ("ok", ["ok"], [])


def test_a_pause_inside_a_burst_hands_the_keys_on_in_order(
    form: tuple[QWidget, QLineEdit, QWindow], wedge: tuple[KeyboardWedge, FakeClock, list[str]], qtbot: QtBot
) -> None:
    _widget, field, window = form
    _filt, clock, scans = wedge
    type_keys(window, "abc", clock, gap_ms=10)
    clock.ms += 200
    type_keys(window, "defghi", clock, gap_ms=10)
    clock.ms += 200
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert scans == []
    assert field.text() == "abcdefghi"


def test_a_shortcut_key_interrupts_a_burst(
    form: tuple[QWidget, QLineEdit, QWindow], wedge: tuple[KeyboardWedge, FakeClock, list[str]], qtbot: QtBot
) -> None:
    _widget, field, window = form
    _filt, clock, scans = wedge
    type_keys(window, "abcdefg", clock, gap_ms=5)
    QTest.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    QTest.keyClick(window, "x")
    qtbot.waitUntil(lambda: field.text() == "x", timeout=2000)
    assert scans == []


# -- the kiosk -----------------------------------------------------------------------------------


async def add_customer(kiosk: Kiosk, *, name: str, loyalty_id: str, preferred: tuple[Channel, ...]) -> int:
    def job(session: Session) -> int:
        now = utcnow()
        customer_id = customers.upsert(
            session,
            now=now,
            name=name,
            loyalty_id=loyalty_id,
            language=None,
            email="mei.nguyen@example.com",
            phone="+12175550188",
        )
        customers.set_preferences(session, customer_id, preferred, auto_send=False, now=now)
        return customer_id

    result: int = await kiosk.runtime.db.write(job)
    return result


async def scan_keys(kiosk: Kiosk, code: str) -> None:
    """A keyboard-wedge scanner typing `code` and Enter into the cashier window.

    The keys are sent from a plain loop callback, as the window system delivers them: QTest's
    window events process pending events, which must not happen inside a running task.
    """
    window = kiosk.shell.cashier.windowHandle()
    wedge = kiosk.shell.wedge
    assert window is not None and wedge is not None
    sent = asyncio.Event()
    ticks = itertools.count(step=5)  # a scanner's pace, 5 ms a key, however busy this machine is

    def press() -> None:
        for char in code:
            QTest.keyClick(window, char)
        QTest.keyClick(window, Qt.Key.Key_Return)
        sent.set()

    wedge.clock = lambda: float(next(ticks))
    try:
        asyncio.get_running_loop().call_soon(press)
        await sent.wait()
    finally:
        wedge.clock = None


def test_scanned_loyalty_card_identifies_the_customer_with_their_channel(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        customer_id = await add_customer(kiosk, name="Mei Nguyen", loyalty_id="LM55501234", preferred=(Channel.SMS,))
        result = await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == result.receipt_id)
        assert "Mei Nguyen" not in panel.customer_label.text()
        panel.lookup_box.setFocus()
        await scan_keys(kiosk, "LM55501234")
        await until(lambda: "Mei Nguyen" in panel.customer_label.text(), what="the customer identified")
        assert panel.lookup_box.text() == ""  # the burst never landed in the focused field
        assert "loyalty \u20261234" in panel.customer_label.text()
        assert "mei.nguyen" not in panel.customer_label.text()  # contacts stay masked
        assert panel.choice() is ReceiptChoice.SMS  # their preferred channel
        assert "Loyalty card \u20261234" in kiosk.shell.scanner_status.text()
        panel.consent.setChecked(True)
        panel.send()
        await until(lambda: panel.deliveries.rowCount() == 1, what="the text queued to the number on file")
        sale = await kiosk.shell.ctx.kiosk.sale(result.receipt_id)
        assert sale.customer is not None and sale.customer.id == customer_id  # the sale is now theirs

    drive(body)


def test_unknown_loyalty_card_says_so_and_changes_nothing(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = kiosk.shell.cashier
        panel = cashier.panel
        await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None)
        before = (panel.customer_label.text(), panel.choice())
        await scan_keys(kiosk, "LM00000000")
        await until(lambda: "No customer has loyalty card" in cashier.banner.message, what="the message")
        assert "\u20260000" in cashier.banner.message
        assert (panel.customer_label.text(), panel.choice()) == before
        assert panel._looked_up is None

    drive(body)


def test_scanned_receipt_opens_its_sale_ready_to_resend(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = kiosk.shell.cashier
        panel = cashier.panel
        first = await kiosk.post_sale(**WALK_IN)
        second = await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == second.receipt_id)
        await scan_keys(kiosk, first.sale_id)  # the Code128 on the paper receipt: the sale id
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == first.receipt_id, what="opened")
        assert first.sale_id in panel.header.text()
        assert panel.send_button.isEnabled()
        row = cashier.sales.table.currentIndex().row()
        assert cashier.sales.model.receipt_at(row) == first.receipt_id
        assert f"Receipt of sale {first.sale_id}" in kiosk.shell.scanner_status.text()

    drive(body)


def test_serial_scans_take_the_same_path_and_unknown_codes_show_in_the_status_bar(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        shell = kiosk.shell
        scanning = shell.ctx.scanning
        assert scanning is not None
        status = shell.scanner_status
        assert status.text().startswith("Scanner: off")  # the demo default: no serial scanner
        first = await kiosk.post_sale(**WALK_IN)
        await kiosk.post_sale(**WALK_IN)
        scanning.submit(f"RD-{first.sale_id}", "serial:/dev/ttyACM0")
        await until(lambda: shell.cashier.panel.sale is not None and shell.cashier.panel.sale.sale_id == first.sale_id)
        scanning.submit("036000291452", "serial:/dev/ttyACM0")
        await until(lambda: "product barcode (UPC-A)" in status.text(), what="the unknown code explained")
        kiosk.runtime.bus.publish(DeviceStateChanged("scanner", "reconnecting", "The scanner on /dev/ttyACM0 ..."))
        assert status.text().startswith("Scanner: reconnecting")
        kiosk.runtime.bus.publish(DeviceStateChanged("scanner", "connected"))
        assert status.text().startswith("Scanner: connected")

    drive(body)


def test_a_sale_opened_from_its_paper_receipt_stays_while_a_new_sale_comes_in(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        cashier = kiosk.shell.cashier
        panel = cashier.panel
        first = await kiosk.post_sale(**WALK_IN)
        await until(lambda: panel.sale is not None and panel.sale.receipt_id == first.receipt_id)
        await scan_keys(kiosk, first.sale_id)  # the newest sale, opened by the cashier to resend
        await until(lambda: f"Receipt of sale {first.sale_id}" in kiosk.shell.scanner_status.text(), what="opened")
        second = await kiosk.post_sale(**WALK_IN)
        await until(lambda: cashier.sales.model.find(second.receipt_id) >= 0, what="the new sale listed")
        assert panel.sale is not None and panel.sale.receipt_id == first.receipt_id
        assert cashier.waiting == 1  # "1 new": the cashier goes to it when done

    drive(body)
