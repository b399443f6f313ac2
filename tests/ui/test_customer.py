"""The customer screen: choose, type with help, confirm masked, consent, language, idle reset."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.domain.channels import Channel, Language
from app.services.kiosk import ReceiptChoice
from app.storage.models import ConsentRow, DeliveryRow
from app.ui.customer.flow import Step
from app.ui.customer.window import CustomerWindow
from app.ui.i18n import tr
from tests.ui.conftest import Drive, Kiosk, from_loop, until


async def tap(qtbot: QtBot, button: QPushButton) -> None:
    """A finger on a button."""
    assert button.isVisible() and button.isEnabled(), button.text()
    await from_loop(lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))


async def offered(kiosk: Kiosk, **changes: object) -> CustomerWindow:
    """Ring up a sale and wait for the customer screen to ask."""
    await kiosk.post_sale(**changes)
    screen = kiosk.shell.customer
    await until(lambda: screen.step is Step.CHOOSE, what="the customer screen to ask")
    assert screen.isVisible()
    return screen


async def recipients(kiosk: Kiosk) -> list[str]:
    return await kiosk.runtime.db.read(lambda s: list(s.scalars(select(DeliveryRow.recipient))))


def test_customer_chooses_email_types_it_with_typo_help_and_sends(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        assert screen.choose.title.text() == tr("how", Language.EN)
        sizes = {b.size().toTuple() for b in screen.choose.buttons.values()}
        assert len(sizes) == 1  # five choices on equal terms
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        assert screen.step is Step.EMAIL
        for ch in "ana":
            await tap(qtbot, screen.email.keys.keys[ch])  # type: ignore[union-attr]
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "@gmial.com"))
        assert screen.email.field.text() == "ana@gmial.com"
        assert not screen.email.suggestion.isHidden()
        await tap(qtbot, screen.email.suggestion)
        assert screen.email.field.text() == "ana@gmail.com"
        await tap(qtbot, screen.email.next)
        assert screen.step is Step.CONFIRM
        assert (
            screen.confirm.lines[ReceiptChoice.EMAIL.channels[0]].text() == "We'll send it to ana@gmail.com"
        )  # typed just now: in full
        assert screen.confirm.consent_box.isHidden()
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert screen.done.title.text() == tr("done_sent", Language.EN)
        assert await recipients(kiosk) == ["ana@gmail.com"]

    drive(body)


def test_on_screen_keys_and_format_checks(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        keys = screen.email.keys.keys  # type: ignore[union-attr]
        for ch in "jo":
            await tap(qtbot, keys[ch])
        await tap(qtbot, keys["@gmail.com"])
        assert screen.email.field.text() == "jo@gmail.com"
        screen.email.field.setText("jo@@example")
        await tap(qtbot, screen.email.next)
        assert screen.step is Step.EMAIL
        assert screen.email.problem.text() == tr("invalid_email", Language.EN)
        await tap(qtbot, screen.email.back)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.SMS])
        pad = screen.phone.keys.keys  # type: ignore[union-attr]
        for digit in "217555":
            await tap(qtbot, pad[digit])  # type: ignore[arg-type]
        assert screen.phone.field.text() == "(217) 555"
        await tap(qtbot, screen.phone.next)
        assert screen.phone.problem.text() == tr("invalid_phone", Language.EN)

    drive(body)


def test_text_receipt_shows_consent_in_full_and_records_it(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.language_button)
        assert screen.choose.title.text() == tr("how", Language.ES)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.SMS])
        await from_loop(lambda: qtbot.keyClicks(screen.phone.field, "2175550199"))
        assert screen.phone.field.text() == "(217) 555-0199"
        await tap(qtbot, screen.phone.next)
        shown = tr("sms_consent", Language.ES, store=kiosk.runtime.settings.store.name)
        assert screen.confirm.consent_text.text() == shown
        assert screen.confirm.send.text() == tr("agree_send", Language.ES)
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        consents = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
        (consent,) = consents
        assert consent.text_shown == shown
        assert (consent.source, consent.language, consent.contact) == ("customer_screen", "es", "+12175550199")
        assert consent.granted and consent.recorded_at is not None and consent.text_version
        assert await recipients(kiosk) == ["+12175550199"]

    drive(body)


def test_known_customer_sees_masked_prefill_with_change_and_not_me(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        regular = {"name": "Mei Nguyen", "email": "mei.nguyen@example.com", "loyalty_id": "LM7"}
        screen = await offered(kiosk, customer=regular)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        assert screen.step is Step.CONFIRM
        assert screen.confirm.title.text() == "Welcome back, Mei!"
        assert screen.confirm.lines[ReceiptChoice.EMAIL.channels[0]].text() == "We'll send it to m***@example.com"
        await tap(qtbot, screen.confirm.changes[ReceiptChoice.EMAIL.channels[0]])
        assert screen.step is Step.EMAIL and screen.email.field.text() == ""
        await tap(qtbot, screen.email.back)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        await tap(qtbot, screen.confirm.not_me)
        assert screen.step is Step.EMAIL
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "someone.else@example.com"))
        await tap(qtbot, screen.email.next)
        assert screen.confirm.title.text() == tr("confirm_title", Language.EN)
        assert screen.confirm.not_me.isHidden()
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE)
        assert await recipients(kiosk) == ["someone.else@example.com"]

    drive(body)


def test_print_and_no_receipt_are_one_tap(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.NONE])
        await until(lambda: screen.step is Step.DONE)
        assert screen.done.title.text() == tr("done_none", Language.EN)
        model = kiosk.shell.cashier.sales.model
        await until(lambda: model.rows()[0].status == "No receipt", what="the cashier to see the choice")
        assert await recipients(kiosk) == []

    drive(body)


@pytest.mark.prefs(idle_timeout_s=0.4, done_return_s=0.2)
def test_idle_timeout_returns_to_welcome_and_clears_input(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "half.typed@exa"))
        await until(lambda: screen.step is Step.WELCOME, timeout=3, what="the idle timeout")
        assert screen.email.field.text() == ""
        assert screen.session is None
        assert not screen.isVisible()  # same screen, in turn: handed back to the cashier

    drive(body)


WHATSAPP_ROUTING = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio", Channel.WHATSAPP: "twilio_whatsapp"}


def test_whatsapp_is_offered_only_with_a_provider(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        assert ReceiptChoice.WHATSAPP not in screen.choose.buttons
        assert len(screen.choose.buttons) == 5

    drive(body)


@pytest.mark.routing(channels=WHATSAPP_ROUTING)
def test_a_whatsapp_receipt_shows_its_own_consent_and_records_it(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        sizes = {b.size().toTuple() for b in screen.choose.buttons.values()}
        assert len(screen.choose.buttons) == 6 and len(sizes) == 1  # six choices on equal terms
        await tap(qtbot, screen.language_button)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.WHATSAPP])
        assert screen.step is Step.PHONE
        await from_loop(lambda: qtbot.keyClicks(screen.phone.field, "2175550188"))
        await tap(qtbot, screen.phone.next)
        store = kiosk.runtime.settings.store.name
        shown = tr("whatsapp_consent", Language.ES, store=store)
        assert screen.confirm.consent_text.text() == shown
        assert screen.confirm.consent_heading.text() == tr("whatsapp_consent_heading", Language.ES)
        line = screen.confirm.lines[Channel.SMS]
        assert line.isVisible() and line.text() == tr("send_to_whatsapp", Language.ES, contact="(217) 555-0188")
        await tap(qtbot, screen.language_button)  # the English wording, in full, is what is agreed to
        assert screen.confirm.consent_text.text() == tr("whatsapp_consent", Language.EN, store=store)
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        (consent,) = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
        assert (consent.channel, consent.purpose, consent.language) == ("whatsapp", "receipts", "en")
        assert consent.text_shown == tr("whatsapp_consent", Language.EN, store=store)
        channels = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(DeliveryRow.channel))))
        assert channels == ["whatsapp"] and await recipients(kiosk) == ["+12175550188"]

    drive(body)
