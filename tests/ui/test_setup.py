"""First run: a kiosk whose settings name no store opens the set-up assistant before the cashier.

The kiosk is started the way `receiptdesk` starts it (`app.ui_launch`), against the real provider
sandbox over loopback HTTP, with an in-memory keyring standing in for the OS one.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import keyring
import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app import ui_launch
from app.config.secrets import SERVICE
from app.config.settings import load_settings
from app.domain.channels import Channel, Language
from app.domain.errors import ConfigurationError
from app.sandbox import credentials
from app.sandbox.memory_keyring import MemoryKeyring
from app.sandbox.server import RunningSandbox, start_sandbox
from app.services.kiosk import ManagerLock
from app.storage.database import Database
from app.storage.models import ManagerRow
from app.ui.cashier.window import CashierWindow
from app.ui.setup.assistant import SetupAssistant
from app.ui.setup.channel_step import ChannelStep
from tests.ui.conftest import DRIVE_LIMIT_S, from_loop, until


@pytest.fixture
def vault() -> Iterator[MemoryKeyring]:
    """The keyring `SecretStore()` uses during the test."""
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


Body = Callable[[RunningSandbox, "asyncio.Task[int]"], Awaitable[None]]


def launch(
    loop: qasync.QEventLoop, config: Path, data: Path, body: Body, configure: Callable[[str], None] | None = None
) -> None:
    """Start the kiosk as `receiptdesk --config CONFIG --data-dir DATA` does, beside a sandbox; run `body`.

    `configure(sandbox_url)` writes the settings file first, when they name the sandbox.
    """

    async def main() -> None:
        sandbox = await start_sandbox()
        try:
            if configure is not None:
                configure(sandbox.url)
            settings = load_settings(config)
            kiosk = asyncio.ensure_future(ui_launch._run(settings, data, False, config, 0))
            try:
                await asyncio.wait_for(body(sandbox, kiosk), 60)
            finally:
                if not kiosk.done():
                    kiosk.cancel()
                await asyncio.gather(kiosk, return_exceptions=True)
        finally:
            await sandbox.stop()

    guard = loop.call_later(DRIVE_LIMIT_S, loop.stop)
    try:
        loop.run_until_complete(main())
    finally:
        guard.cancel()


def shown(kind: type) -> object | None:
    """The visible top-level window of `kind`, if there is one."""
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)


async def fill(qtbot: QtBot, field: QLineEdit, text: str) -> None:
    field.clear()
    await from_loop(lambda: qtbot.keyClicks(field, text))


async def click(qtbot: QtBot, button: QPushButton) -> None:
    await from_loop(lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))


async def open_assistant() -> SetupAssistant:
    await until(lambda: shown(SetupAssistant) is not None, 20, "the set-up assistant")
    assistant = shown(SetupAssistant)
    assert isinstance(assistant, SetupAssistant)
    return assistant


async def next_step(qtbot: QtBot, assistant: SetupAssistant, expected: int) -> None:
    assistant.banner.dismiss()
    await click(qtbot, assistant.next_button)
    await until(lambda: assistant.index == expected or bool(assistant.banner.message), 10, f"step {expected + 1}")
    assert assistant.index == expected, assistant.banner.message


async def send_test(qtbot: QtBot, step: ChannelStep, to: str) -> str:
    await fill(qtbot, step.to, to)
    step.result.clear()
    await click(qtbot, step.test_button)
    await until(lambda: step.result.text() not in ("", "Sending\u2026"), 20, "the test send")
    return step.result.text()


def test_a_kiosk_without_a_store_is_set_up_by_the_assistant_then_opens(
    loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, vault: MemoryKeyring
) -> None:
    config = tmp_path / "config" / "receiptdesk.toml"
    config.parent.mkdir()
    config.write_text("[api]\nport = 0\n", encoding="utf-8")  # an API port of its own, kept by the assistant
    data = tmp_path / "data"

    async def body(sandbox: RunningSandbox, kiosk: asyncio.Task[int]) -> None:
        assistant = await open_assistant()
        assert shown(CashierWindow) is None
        store = assistant.store_step.page
        await fill(qtbot, store.fields["name"], "Corner Grocer")
        await click(qtbot, assistant.next_button)
        await until(lambda: bool(assistant.banner.message), what="the missing address and phone")
        assert "address and phone" in assistant.banner.message and assistant.index == 0
        await fill(qtbot, store.fields["address"], "2 Elm Street, Springfield, IL 62704")
        await fill(qtbot, store.fields["phone"], "(217) 555-0199")
        store.language.setCurrentIndex(store.language.findData(Language.ES))
        await next_step(qtbot, assistant, 1)

        email = assistant.channels[0]
        assert email.channel is Channel.EMAIL and email.chosen == "sendgrid"
        sendgrid = email.forms["sendgrid"]
        await fill(qtbot, sendgrid.settings["from_email"], credentials.SENDGRID_FROM)
        await fill(qtbot, sendgrid.settings["base_url"], sandbox.url)
        await click(qtbot, assistant.next_button)
        await until(lambda: "API key" in assistant.banner.message, what="the missing API key")
        await fill(qtbot, sendgrid.secrets["api_key"], "not-the-key")
        refused = await send_test(qtbot, email, "owner@example.com")
        assert refused.startswith("SendGrid answered 401") and email.result.property("hint") == "bad"
        await fill(qtbot, sendgrid.secrets["api_key"], credentials.SENDGRID_API_KEY)
        took = await send_test(qtbot, email, "owner@example.com")
        assert took.startswith("SendGrid took the test message for owner@example.com"), took
        sent = sandbox.app.state.store.messages("sendgrid")  # type: ignore[attr-defined]
        assert [m.to for m in sent] == [("owner@example.com",)]
        assert sent[0].subject == "ReceiptDesk test message from Corner Grocer"
        await next_step(qtbot, assistant, 2)

        text = assistant.channels[1]
        assert text.channel is Channel.SMS and text.chosen == "twilio"
        twilio = text.forms["twilio"]
        await fill(qtbot, twilio.settings["account_sid"], credentials.TWILIO_ACCOUNT_SID)
        await fill(qtbot, twilio.settings["from_number"], credentials.TWILIO_FROM)
        await fill(qtbot, twilio.settings["base_url"], sandbox.url)
        await fill(qtbot, twilio.secrets["auth_token"], credentials.TWILIO_AUTH_TOKEN)
        assert "is not valid" in await send_test(qtbot, text, "555")
        took = await send_test(qtbot, text, "(217) 555-0147")
        assert took.startswith("Twilio took the test message for +12175550147"), took
        texts = sandbox.app.state.store.messages("twilio")  # type: ignore[attr-defined]
        assert [m.to for m in texts] == [("+12175550147",)] and "Corner Grocer" in (texts[0].body or "")
        await next_step(qtbot, assistant, 3)

        printer = assistant.printer_step
        printer.group.enabled.setChecked(True)
        printer.group.kind.setCurrentIndex(printer.group.kind.findData("dummy"))
        await click(qtbot, printer.test_button)
        await until(lambda: printer.result.property("hint") == "good", what="the test page")
        spool = data / "printer" / "receipts.escpos"
        assert b"ReceiptDesk printer test" in spool.read_bytes() and b"Corner Grocer" in spool.read_bytes()
        await next_step(qtbot, assistant, 4)

        assert not config.read_text(encoding="utf-8").count("[store]")  # nothing is saved before Finish
        pin = assistant.kiosk_step.page
        await click(qtbot, assistant.next_button)
        await until(lambda: "manager PIN" in assistant.banner.message, what="the missing PIN")
        await fill(qtbot, pin.pin, "2468")
        await fill(qtbot, pin.pin_again, "2468")
        await click(qtbot, assistant.next_button)

        await until(lambda: shown(CashierWindow) is not None, 20, "the cashier window after set-up")
        cashier = shown(CashierWindow)
        assert isinstance(cashier, CashierWindow) and "Corner Grocer" in cashier.windowTitle()
        assert shown(SetupAssistant) is None

        saved = load_settings(config, must_exist=True)
        assert saved.store.profile().name == "Corner Grocer" and saved.store.default_language is Language.ES
        assert (saved.store.address, saved.store.phone) == ("2 Elm Street, Springfield, IL 62704", "(217) 555-0199")
        assert saved.api.port == 0
        assert saved.routing == {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}
        assert saved.providers["sendgrid"] == {"from_email": credentials.SENDGRID_FROM, "base_url": sandbox.url}
        assert saved.printer.enabled and saved.printer.kind == "dummy"
        text_of_file = config.read_text(encoding="utf-8")
        for secret in (credentials.SENDGRID_API_KEY, credentials.TWILIO_AUTH_TOKEN, "2468"):
            assert secret not in text_of_file
        assert vault.values == {  # the PIN went through the keyring; the kiosk keeps only its hash, as a manager
            (SERVICE, "sendgrid.api_key"): credentials.SENDGRID_API_KEY,
            (SERVICE, "twilio.auth_token"): credentials.TWILIO_AUTH_TOKEN,
        }
        assert tomllib.loads(config.with_name("kiosk.toml").read_text(encoding="utf-8"))["kiosk"]

        cashier.close()
        assert await kiosk == 0
        db = Database(f"sqlite:///{data / 'receiptdesk.db'}")
        try:
            assert await ManagerLock(db).unlock("manager", "2468") == "manager"
            stored = await db.read(lambda s: s.scalar(select(ManagerRow.pin_hash)))
            assert stored is not None and stored.startswith("scrypt$") and "2468" not in stored
        finally:
            db.close()

    launch(loop, config, data, body)


def test_a_kiosk_with_its_store_set_skips_the_assistant(
    loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, vault: MemoryKeyring
) -> None:
    vault.set_password(SERVICE, "sendgrid.api_key", credentials.SENDGRID_API_KEY)
    vault.set_password(SERVICE, "twilio.auth_token", credentials.TWILIO_AUTH_TOKEN)
    config = tmp_path / "receiptdesk.toml"

    def configure(sandbox_url: str) -> None:
        config.write_text(
            '[store]\nname = "Lakeside Foods"\naddress = "9 Lake Road"\nphone = "(217) 555-0123"\n'
            "[api]\nport = 0\n"
            f'[providers.sendgrid]\nfrom_email = "{credentials.SENDGRID_FROM}"\nbase_url = "{sandbox_url}"\n'
            f'[providers.twilio]\naccount_sid = "{credentials.TWILIO_ACCOUNT_SID}"\n'
            f'from_number = "{credentials.TWILIO_FROM}"\nbase_url = "{sandbox_url}"\n',
            encoding="utf-8",
        )

    async def body(sandbox: RunningSandbox, kiosk: asyncio.Task[int]) -> None:
        await until(lambda: shown(CashierWindow) is not None or kiosk.done(), 20, "the cashier window")
        assert shown(SetupAssistant) is None
        cashier = shown(CashierWindow)
        assert isinstance(cashier, CashierWindow) and "Lakeside Foods" in cashier.windowTitle()
        cashier.close()
        assert await kiosk == 0

    launch(loop, config, tmp_path / "data", body, configure)


def test_cancelling_the_assistant_saves_nothing_and_says_what_is_missing(
    loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, vault: MemoryKeyring
) -> None:
    config = tmp_path / "receiptdesk.toml"

    async def body(sandbox: RunningSandbox, kiosk: asyncio.Task[int]) -> None:
        assistant = await open_assistant()
        await fill(qtbot, assistant.store_step.page.fields["name"], "Half Done Market")
        await click(qtbot, assistant.cancel_button)
        with pytest.raises(ConfigurationError) as refused:
            await kiosk
        assert refused.value.message == (
            "Set-up was cancelled and nothing was saved. The store is not set up: set name, address and phone "
            f"under [store] in {config} (every receipt prints them)."
        )
        assert not config.exists() and not vault.values
        assert shown(CashierWindow) is None and shown(SetupAssistant) is None

    launch(loop, config, tmp_path / "data", body)


def test_an_unreachable_provider_is_reported_in_one_line(
    loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path, vault: MemoryKeyring
) -> None:
    async def body(sandbox: RunningSandbox, kiosk: asyncio.Task[int]) -> None:
        assistant = await open_assistant()
        email = assistant.channels[0]
        sendgrid = email.forms["sendgrid"]
        sendgrid.settings["from_email"].setText(credentials.SENDGRID_FROM)
        sendgrid.settings["base_url"].setText("http://127.0.0.1:9")  # nothing listens there
        sendgrid.secrets["api_key"].setText("any")
        answer = await send_test(qtbot, email, "owner@example.com")
        assert answer == "SendGrid could not be reached: no connection could be made."
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{sandbox.url}/_sandbox/messages")).json()["count"] == 0
        assistant.close()
        with pytest.raises(ConfigurationError):
            await kiosk

    launch(loop, tmp_path / "receiptdesk.toml", tmp_path / "data", body)
