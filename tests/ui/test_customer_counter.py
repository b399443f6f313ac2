"""The customer screen at a real counter's pace: one tap for the known, a keyboard that never moves,
a typo question asked once, Change that keeps the text, taps counted, targets a finger can hit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.domain.channels import Channel, Language
from app.services.kiosk import ReceiptChoice
from app.storage.models import ConsentRow
from app.ui.customer.flow import Step
from app.ui.customer.placement import facing_screen
from app.ui.customer.typos import still_typing
from app.ui.customer.window import CustomerWindow
from app.ui.i18n import tr
from app.ui.widgets.touch_size import MIN_TOUCH_PX
from tests.ui.conftest import Drive, Kiosk, from_loop, until
from tests.ui.test_customer import offered, recipients, tap

MARIA = {"name": "Maria Lopez", "email": "maria.lopez@gmail.com", "phone": "+12175557998", "loyalty_id": "LM98"}


def count_taps(screen: CustomerWindow) -> list[str]:
    """Every press on any button of the customer screen, keys included, from now on."""
    taps: list[str] = []
    for button in screen.findChildren(QAbstractButton):
        button.pressed.connect(lambda b=button: taps.append(b.text()))
    return taps


async def settle() -> None:
    """Let Qt lay out what changed (the layout requests it posted), as the next paint would."""
    await from_loop(lambda: QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest))


def place(widget: QWidget) -> QRect:
    """Where `widget` is on its window."""
    return QRect(widget.mapTo(widget.window(), widget.rect().topLeft()), widget.size())


async def type_keys(qtbot: QtBot, screen: CustomerWindow, text: str) -> None:
    """Tap `text` out on the on-screen keyboard, one key per character."""
    keys = screen.email.keys.keys  # type: ignore[union-attr]
    for ch in text:
        await tap(qtbot, keys[ch])


def test_a_known_contact_shows_masked_on_the_choice_screen_and_one_tap_sends(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=dict(MARIA))
        quick = screen.choose.quick
        assert quick[ReceiptChoice.EMAIL].text() == "Email to m***@gmail.com"
        assert quick[ReceiptChoice.SMS].text() == "Text to (***) ***-7998"
        taps = count_taps(screen)
        await tap(qtbot, quick[ReceiptChoice.EMAIL])
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert len(taps) == 1  # known contact: one tap
        assert await recipients(kiosk) == ["maria.lopez@gmail.com"]

    drive(body)


def test_one_tap_text_to_the_number_on_file_records_the_consent_shown_beside_it(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=dict(MARIA))
        await tap(qtbot, screen.language_button)
        shown = screen.choose.quick_consent.text()
        assert shown == tr(
            "quick_sms_consent", Language.ES, store=kiosk.runtime.settings.store.name, contact="(***) ***-7998"
        )
        taps = count_taps(screen)
        await tap(qtbot, screen.choose.quick[ReceiptChoice.SMS])
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert len(taps) == 1
        (consent,) = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
        assert consent.text_shown == shown and consent.source == "customer_screen"
        assert await recipients(kiosk) == ["+12175557998"]

    drive(body)


def test_a_walk_in_sees_no_contact_buttons(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        assert all(button.isHidden() for button in screen.choose.quick.values())
        assert screen.choose.quick_consent_shown is None

    drive(body)


def test_new_email_with_the_domain_key_takes_at_most_12_taps(drive: Drive, qtbot: QtBot) -> None:
    """Taps are every press on the customer screen, keys included, except the characters of the
    address's own part ("maria.lopez"): no design can save those. Email, the `@gmail.com` key, Next
    and Send are what the screen asks for; the issue allows 12."""

    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        taps = count_taps(screen)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        await type_keys(qtbot, screen, "maria.lopez")
        await tap(qtbot, screen.email.keys.keys["@gmail.com"])  # type: ignore[union-attr]
        await tap(qtbot, screen.email.next)
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert len(taps) - len("maria.lopez") <= 12
        assert len(taps) - len("maria.lopez") == 4
        assert await recipients(kiosk) == ["maria.lopez@gmail.com"]

    drive(body)


def test_new_text_with_consent_takes_at_most_13_taps(drive: Drive, qtbot: QtBot) -> None:
    """Taps are every press on the customer screen, the ten digits included: Text, the number, Next,
    and "I agree, send it" under the consent shown in full; the issue allows 13."""

    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        taps = count_taps(screen)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.SMS])
        for digit in "2175550199":
            await tap(qtbot, screen.phone.keys.keys[digit])
        await tap(qtbot, screen.phone.next)
        assert screen.confirm.consent_shown
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert len(taps) <= 13
        assert await recipients(kiosk) == ["+12175550199"]

    drive(body)


def test_the_typo_hint_waits_for_a_complete_address_and_the_keyboard_never_moves(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        page = screen.email
        await settle()
        before = place(page.keys)
        await type_keys(qtbot, screen, "ana@gmail.co")  # on the way to gmail.com: no hint yet
        assert page.suggestion.isHidden() and page.problem.text() == ""
        await type_keys(qtbot, screen, "m")
        page.field.clear()
        await type_keys(qtbot, screen, "ana@gmial.com")  # complete, and a likely slip
        assert not page.suggestion.isHidden() and not page.keep.isHidden()
        assert page.problem.text() == "Did you mean gmail.com?"
        await settle()
        assert place(page.keys) == before  # the keyboard did not move (it jumped 55-72 px)
        await tap(qtbot, page.suggestion)
        assert page.field.text() == "ana@gmail.com"
        await settle()
        assert place(page.keys) == before
        page.field.setText("ana@example")
        await tap(qtbot, page.next)
        assert page.problem.text() == tr("invalid_email", Language.EN)
        await settle()
        assert place(page.keys) == before

    drive(body)


def test_next_on_a_likely_typo_asks_once_and_a_confirmed_domain_is_accepted(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        page = screen.email
        page.field.setText("ana@gmial.com")
        page.suggestion.hide(), page.keep.hide()  # as if typed too fast to notice the hint
        await tap(qtbot, page.next)
        assert screen.step is Step.EMAIL  # Next did not take gmial.com without a second chance
        assert page.problem.text() == "Did you mean gmail.com?"
        assert page.suggestion.text() == "Yes, use gmail.com" and page.keep.text() == "No, gmial.com is right"
        await tap(qtbot, page.suggestion)
        await tap(qtbot, page.next)
        assert screen.step is Step.CONFIRM
        assert screen.confirm.lines[Channel.EMAIL].text() == "We'll send it to ana@gmail.com"
        await tap(qtbot, screen.confirm.back)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        await from_loop(lambda: qtbot.keyClicks(page.field, "ana@comcat.net"))
        await tap(qtbot, page.next)
        assert screen.step is Step.EMAIL  # asked once ...
        await tap(qtbot, page.keep)  # ... and the customer says it is right
        assert screen.step is Step.CONFIRM
        assert screen.confirm.lines[Channel.EMAIL].text() == "We'll send it to ana@comcat.net"
        await tap(qtbot, screen.confirm.send)
        await until(lambda: screen.step is Step.DONE, what="thank you")
        assert await recipients(kiosk) == ["ana@comcat.net"]

    drive(body)


def test_change_keeps_what_was_typed_and_the_typed_number_is_shown_in_full(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.BOTH])
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "luis.ortiz@yahoo.com"))
        await tap(qtbot, screen.email.next)
        await from_loop(lambda: qtbot.keyClicks(screen.phone.field, "2175550123"))
        await tap(qtbot, screen.phone.next)
        lines = screen.confirm.lines
        assert lines[Channel.EMAIL].text() == "We'll send it to luis.ortiz@yahoo.com"
        assert lines[Channel.SMS].text() == "We'll text it to (217) 555-0123"  # not "(***) ***-0123"
        await tap(qtbot, screen.confirm.changes[Channel.EMAIL])
        assert screen.step is Step.EMAIL and screen.email.field.text() == "luis.ortiz@yahoo.com"
        for _ in ".com":
            await tap(qtbot, screen.email.keys.backspace)
        await tap(qtbot, screen.email.keys.keys[".net"])  # type: ignore[union-attr]
        await tap(qtbot, screen.email.next)
        assert screen.step is Step.CONFIRM
        assert lines[Channel.EMAIL].text() == "We'll send it to luis.ortiz@yahoo.net"
        await tap(qtbot, screen.confirm.changes[Channel.SMS])
        assert screen.step is Step.PHONE and screen.phone.field.text() == "(217) 555-0123"

    drive(body)


def test_the_keyboard_has_the_common_domains_and_plus() -> None:
    from app.ui.widgets.keyboard import DOMAIN_KEYS, SIDE_KEYS

    keys = set(DOMAIN_KEYS) | {key for _, key in SIDE_KEYS}
    assert {"@gmail.com", "@yahoo.com", "@hotmail.com", "@outlook.com", "@icloud.com", ".com", ".net", "+"} <= keys


def test_still_typing_is_a_prefix_of_the_domain_meant() -> None:
    assert still_typing("ana@gmail.co", "ana@gmail.com")
    assert not still_typing("ana@gmial.com", "ana@gmail.com")
    assert not still_typing("ana@gmail.con", "ana@gmail.com")


def visible_targets(screen: CustomerWindow) -> Iterator[QAbstractButton]:
    return (b for b in screen.findChildren(QAbstractButton) if b.isVisible())


def test_every_touch_target_on_every_page_is_at_least_48_px(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=dict(MARIA))
        measured: dict[str, int] = {}

        async def check(page: str) -> None:
            for language in (Language.EN, Language.ES):
                screen.set_language(language)
                await settle()
                targets = list(visible_targets(screen))
                assert targets, page
                for button in targets:
                    name = f"{page}/{language}/{button.text() or button.accessibleName()}"
                    assert button.width() >= MIN_TOUCH_PX and button.height() >= MIN_TOUCH_PX, (name, button.size())
                    measured[name] = min(button.width(), button.height())

        await check("choose")
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.BOTH])
        await check("confirm")  # Change, Not me, Remember my choice, Back, Send, the language toggle
        assert screen.confirm.remember.isVisible()
        await tap(qtbot, screen.confirm.not_me)
        screen.email.field.setText("ana@gmial.com")  # the typo answers shown too
        await check("email")
        await tap(qtbot, screen.email.keep)
        await check("phone")
        screen.reset()
        await from_loop(kiosk.shell.show_customer)
        await check("welcome")
        assert any("Recordar" in name for name in measured) and any("English" in name for name in measured)

    drive(body)


@pytest.mark.parametrize(
    ("screens", "preferred", "expected"),
    [
        (["till"], -1, None),  # one screen: shared, in turn
        (["till", "facing"], -1, "facing"),  # a second screen is used by itself
        (["facing", "till"], -1, "facing"),
        (["till", "facing", "other"], 2, "other"),  # the preference names one
        (["till", "facing"], 0, "facing"),  # the preference names the cashier's own: the other one
    ],
)
def test_the_facing_window_goes_to_a_second_screen_by_itself(
    screens: list[str], preferred: int, expected: str | None
) -> None:
    assert facing_screen(screens, "till", preferred) == expected


def test_on_one_screen_a_walk_in_sale_does_not_pop_over_the_manager(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        shell = kiosk.shell
        await from_loop(shell.manager.open)
        await kiosk.post_sale(customer=None)
        await until(lambda: shell.customer.step is Step.CHOOSE, what="the sale to be offered")
        assert shell.manager.isVisible()
        assert not shell.customer.isVisible()  # it popped over the manager and took the focus
        await from_loop(shell.show_customer)  # the cashier hands the screen over when ready
        assert shell.customer.isVisible() and shell.customer.step is Step.CHOOSE

    drive(body)


def test_remember_my_choice_answers_a_tap_anywhere_on_its_48_px_row(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        screen = await offered(kiosk, customer=None)
        await tap(qtbot, screen.choose.buttons[ReceiptChoice.EMAIL])
        await from_loop(lambda: qtbot.keyClicks(screen.email.field, "ana@example.com"))
        await tap(qtbot, screen.email.next)
        remember = screen.confirm.remember
        await settle()
        assert remember.height() >= MIN_TOUCH_PX  # it was 22 px
        corner = QPoint(remember.width() - 4, remember.height() - 4)  # beside the words, below the box
        await from_loop(lambda: qtbot.mouseClick(remember, Qt.MouseButton.LeftButton, pos=corner))
        assert remember.isChecked()

    drive(body)


def test_when_the_customer_display_goes_away_the_window_waits_for_the_customers_turn(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        shell = kiosk.shell
        shell.dedicated_screen = True  # as if it had its own display ...
        shell.customer.show()
        await from_loop(shell._screens_changed)  # ... which was switched off: one screen is left
        assert not shell.dedicated_screen
        assert not shell.customer.isVisible()  # not left over the cashier's window between customers
        await kiosk.post_sale(customer=None)
        await until(lambda: shell.customer.step is Step.CHOOSE, what="the sale to be offered")
        assert shell.customer.isVisible()  # the customer's turn on the shared screen

    drive(body)
