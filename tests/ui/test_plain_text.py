"""Names from a sale are shown as typed: a label holding one never reads it as rich text (HTML)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk import ReceiptChoice
from app.ui.customer.flow import Step
from app.ui.formatting import CHANNEL_WORDS, STATE_WORDS
from tests.ui.conftest import Drive, Kiosk, from_loop, until

MARKUP_NAME = "<b>Mei</b> & <i>Nguyen</i>"
"""A customer name a POS may well send (a name field is free text); HTML here must show as typed."""


def read_as_rich_text(label: QLabel) -> bool:
    """Whether `label` renders its text as HTML, as QLabel decides it (`Qt::AutoText` guesses)."""
    fmt = label.textFormat()
    return fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui.mightBeRichText(label.text()))


async def tap(qtbot: QtBot, button: QPushButton) -> None:
    await from_loop(lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))


def test_the_cashier_sees_a_name_with_markup_as_typed(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        panel = kiosk.shell.cashier.panel
        customer = {"name": MARKUP_NAME, "email": "mei@example.com", "loyalty_id": "LM7"}
        await kiosk.post_sale(customer=customer)
        await until(lambda: panel.sale is not None, what="the sale in the panel")
        assert panel.customer_label.text().startswith(MARKUP_NAME)
        assert QtGui.mightBeRichText(panel.customer_label.text())  # the guess would take it for HTML
        for label in (panel.header, panel.subheader, panel.customer_label):
            assert not read_as_rich_text(label), label.accessibleName()

    drive(body)


def test_the_customer_screen_greets_a_name_with_markup_as_typed(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        customer = {"name": MARKUP_NAME, "email": "mei@example.com", "loyalty_id": "LM7"}
        await kiosk.post_sale(customer=customer)
        screen = kiosk.shell.customer
        await until(lambda: screen.step is Step.CHOOSE, what="the customer screen to ask")
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        assert screen.step is Step.CONFIRM
        assert screen.confirm.title.text() == "Welcome back, <b>Mei</b>!"
        assert not read_as_rich_text(screen.confirm.title)
        for line in screen.confirm.lines.values():
            assert not read_as_rich_text(line)

    drive(body)


def test_every_delivery_state_and_channel_has_words() -> None:
    assert set(STATE_WORDS) == set(DeliveryState)
    assert set(CHANNEL_WORDS) == set(Channel)
