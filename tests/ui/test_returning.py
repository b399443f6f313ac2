"""A returning customer with their choice on file and auto-receipts: zero taps."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk import ReceiptChoice
from app.ui.customer.flow import Step
from app.ui.prefs import SAME_SCREEN
from tests.ui.conftest import Drive, Kiosk, from_loop, until

REGULAR = {"name": "Luis López", "loyalty_id": "LM4242"}


@pytest.mark.prefs(customer_screen=SAME_SCREEN, done_return_s=0.2)
def test_remembered_choice_sends_the_next_receipt_without_a_tap(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = kiosk.shell.customer
        cashier = kiosk.shell.cashier
        await kiosk.post_sale(customer=dict(REGULAR))
        await until(lambda: screen.step is Step.CHOOSE, what="the first visit to ask")
        await from_loop(lambda: qtbot.mouseClick(screen.choose.buttons[ReceiptChoice.EMAIL], Qt.MouseButton.LeftButton))
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "luis@example.com"))
        await from_loop(lambda: qtbot.mouseClick(screen.email.next, Qt.MouseButton.LeftButton))
        await from_loop(lambda: qtbot.keyClick(screen.confirm.remember, Qt.Key.Key_Space))
        assert screen.confirm.remember.isChecked()
        await from_loop(lambda: qtbot.mouseClick(screen.confirm.send, Qt.MouseButton.LeftButton))
        await until(lambda: screen.step is Step.WELCOME, what="the first visit to finish")

        taps: list[object] = []
        for button in screen.findChildren(QAbstractButton):  # every button and key on the customer screen
            button.pressed.connect(lambda: taps.append(1))
        second = await kiosk.post_sale(customer=dict(REGULAR))
        assert [d.channel for d in second.deliveries] == [Channel.EMAIL]
        assert second.deliveries[0].masked_recipient == "l***@example.com"
        await until(lambda: cashier.panel.sale is not None and cashier.panel.sale.receipt_id == second.receipt_id)
        assert "sent automatically" in cashier.panel.customer_label.text()
        await until(
            lambda: any(d.state is DeliveryState.SENT for d in cashier.panel.deliveries.deliveries),
            what="the automatic send to go out",
        )
        assert screen.step is Step.WELCOME and not screen.isVisible()  # nobody was asked
        assert taps == []  # returning, automatic receipts: zero taps

    drive(body)
