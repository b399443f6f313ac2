"""Render every kiosk window to PNG in ./screenshots/ (offscreen, real runtime and sandbox).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/screenshots.py

Runs the real kiosk over a temporary database as the kiosk demo wires it (the in-process provider
sandbox, whose status callbacks reach the local API, so receipts show Delivered), walks each screen
into a telling state (a sale with its preview and a failure alert, new sales waiting, the customer
typing with typo help, the SMS consent, the manager's timeline with attempts in doubt, a resend
confirmed, export, health with held messages to send or drop, audit, every settings tab) and saves
each window; then the first-run set-up assistant, step by step, with its test sends answered by the
sandbox. Takes about 20 s.

Names: `<window>-<state>`, then `-en`/`-es` where the language shows (every customer page is shot
in both) and `-<width>x<height>` where the size is the point. Each part of the kiosk adds its shots
as one function of its own, called from `main`.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import time as datetime_time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import qasync
from keyring.backends import fail
from PySide6.QtWidgets import QWidget
from sqlalchemy import update

from app.config.secrets import SecretStore
from app.config.settings import PrinterSettings, Settings
from app.config.settings_writer import SettingsStore
from app.demo.kiosk import start_kiosk_demo
from app.domain.channels import Channel, Language
from app.domain.clock import utcnow
from app.domain.delivery import DeliveryState
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.intake import parse_sale
from app.main import HTTP_TIMEOUT, build_printer_device, build_runtime
from app.sandbox import credentials
from app.sandbox.memory_keyring import MemoryKeyring
from app.sandbox.pos import make_sale
from app.services.catalogue import ProviderCatalogue
from app.services.devices import DeviceService
from app.services.kiosk import ReceiptChoice
from app.services.setup import SetupService
from app.storage import outbox
from app.storage.models import AttemptRow, DeliveryRow
from app.triggers.pos import pos_event
from app.ui.customer.flow import Step
from app.ui.setup.assistant import SetupAssistant
from app.ui.shell import KioskShell
from app.ui_launch import DEMO_MANAGER, DEMO_PIN, build_context, prepare_app, provision_demo_manager

OUT = Path("screenshots")


async def until(condition: Callable[[], object], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the kiosk did not reach the expected state")
        await asyncio.sleep(0.02)


async def settle() -> None:
    await asyncio.sleep(0.25)


def save(widget: QWidget, name: str) -> None:
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


async def shoot_look(shell: KioskShell) -> None:
    """The date picker's calendar, the high-contrast palette, and the one-screen demo's windows."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDateEdit

    cashier = shell.cashier
    day = cashier.findChildren(QDateEdit)[0]
    QTest.mouseClick(
        day, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(day.width() - 6, day.height() // 2)
    )
    await until(lambda: day.calendarWidget().window().isVisible())
    save(day.calendarWidget().window(), "cashier-date-picker")
    day.calendarWidget().window().hide()
    shell.contrast.action.trigger()
    await settle()
    for window, name in ((cashier, "cashier"), (shell.customer, "customer"), (shell.manager, "manager")):
        save(window, f"{name}-high-contrast")
    shell.contrast.action.trigger()
    await until(lambda: not shell.ctx.prefs.high_contrast)
    await shoot_one_screen_demo(shell)


async def shoot_one_screen_demo(shell: KioskShell) -> None:
    """The demo's windows on one screen as a window manager frames them, in each turn: the counter, the
    customer's turn, the manager's window open; at 1366x768, 1280x800, 1920x1080 (in turn) and 2560x1440
    (the customer beside the cashier)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QPainter, QPixmap

    cashier, customer, manager = shell.cashier, shell.customer, shell.manager
    sale = cashier.sales.model.rows()[0].sale
    for width, height in ((1366, 768), (1280, 800), (1920, 1080), (2560, 1440)):
        manager.hide()
        customer.reset()
        shell.arrange_windows(QRect(0, 0, width, height))
        if shell.dedicated_screen:
            customer.show()
        for turn in ("counter", "customer-turn", "manager"):
            if turn == "customer-turn":
                customer.offer(sale)
                shell.show_customer()
            elif turn == "manager":
                manager.show()
            await settle()
            screen = QPixmap(width, height)
            screen.fill(QColor("#3b4048"))
            painter = QPainter(screen)
            for window in (cashier, customer, manager):
                if window.isVisible():
                    frame = window.geometry().adjusted(-8, -32, 8, 8)
                    painter.fillRect(frame, QColor("#9aa4ae"))
                    painter.drawPixmap(window.geometry().topLeft(), window.grab())
            painter.end()
            path = OUT / f"demo-{width}x{height}-{turn}.png"
            screen.save(str(path))
            print(path)
    manager.hide()
    customer.reset()


async def main() -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="receiptdesk-shots-") as tmp:
        data = Path(tmp)
        demo = await start_kiosk_demo(Settings(), bounce_rate=0.0, callback_delay=0.05)  # Sent, then Delivered
        sandbox = demo.sandbox
        runtime = build_runtime(demo.settings, data=data, secrets=demo.secrets)
        demo.serve(runtime)
        runtime.start_dispatching()
        ctx = build_context(
            runtime,
            file_settings=Settings(),
            config_path=data / "receiptdesk.toml",
            export_dir=data,
            demo=True,
            secrets=SecretStore(env={}, backend=fail.Keyring()),
        )
        await provision_demo_manager(ctx)
        await ctx.managers.add("Ana Lee", "739154", actor="screenshots")
        shell = KioskShell(ctx)
        try:
            await shoot(shell, rng, runtime, demo.sandbox_app)
            await shoot_cashier_counter(shell, rng, runtime, demo.sandbox_app)
            await shoot_other_tabs(shell)
            await shoot_manager_actions(shell, runtime)
            await shoot_customer_languages(shell, rng, runtime)
            await shoot_cashier_waiting(shell, rng, runtime)
            await shoot_look(shell)
            await shoot_text_in(shell, rng, runtime, demo)
            await shoot_store(shell, runtime)
            await shoot_setup(data, sandbox.url)
        finally:
            await shell.aclose()
            await demo.stop_api()
            await runtime.close()
            await demo.stop()


async def post(runtime: Any, rng: random.Random, **changes: Any) -> str:
    payload = make_sale(rng, sale_id=f"K{rng.randrange(16**6):06X}", lane="1")
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    result = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return str(result.receipt_id)


async def shoot(shell: KioskShell, rng: random.Random, runtime: Any, sandbox_app: Any) -> None:
    cashier, customer, manager, settings = shell.cashier, shell.customer, shell.manager, shell.settings
    shell.show()
    customer.resize(1280, 800)
    faults = sandbox_app.state.faults
    for n in range(5):
        await post(runtime, rng, customer={"email": f"shopper{n}@example.com", "channels": ["email"]})
    faults.configure(error_rate=1.0, error_status=400, providers=["twilio"])
    await post(runtime, rng, customer={"phone": "+12175550147", "channels": ["sms"]})
    await until(lambda: any("failed" in r.status for r in cashier.sales.model.rows()))
    faults.clear()
    regular = {"name": "Ana Garcia", "loyalty_id": "LM20250042", "email": "ana.garcia@gmail.com", "language": "en"}
    await post(runtime, rng, customer=regular)
    await until(lambda: customer.step is Step.CHOOSE)
    customer.showNormal()
    customer.resize(1280, 800)
    await settle()
    save(cashier, "cashier")
    save(customer, "customer-choose-known-email-en")
    customer.choose.buttons[ReceiptChoice.EMAIL].click()
    await settle()
    save(customer, "customer-confirm-on-file-en")
    customer.confirm.not_me.click()
    customer.email.field.setText("jordan.lee@gmial.com")
    await settle()
    save(customer, "customer-email-typo-hint-en")
    customer.email.suggestion.click()
    customer.email.back.click()
    customer.toggle_language()
    customer.choose.buttons[ReceiptChoice.SMS].click()
    customer.phone.field.setText("2175550123")
    customer.phone.next.click()
    await settle()  # the consent and done pages are shot in both languages below (shoot_customer_languages)
    customer.confirm.send.click()
    await until(lambda: customer.step is Step.DONE)

    # the customer screen at the counter: one tap for the contacts on file, the typo question, what was typed
    customer.reset()
    maria = {"name": "Maria Lopez", "email": "maria.lopez@gmail.com", "phone": "+12175557998", "language": "en"}
    await post(runtime, rng, customer=maria)
    await until(lambda: customer.step is Step.CHOOSE)
    customer.showNormal()
    customer.resize(1280, 800)
    for _ in range(2):
        await settle()
        save(customer, f"customer-choose-known-{customer.language.value}")
        customer.toggle_language()
    customer.choose.buttons[ReceiptChoice.BOTH].click()
    customer.confirm.not_me.click()
    customer.email.field.setText("maria.lopez@gmial.com")
    customer.email.next.click()
    for _ in range(2):
        await settle()
        save(customer, f"customer-email-did-you-mean-{customer.language.value}")
        customer.toggle_language()
    customer.email.suggestion.click()
    customer.email.next.click()
    customer.phone.field.setText("2175550123")
    customer.phone.next.click()
    for _ in range(2):
        await settle()
        save(customer, f"customer-confirm-typed-{customer.language.value}")
        customer.toggle_language()
    customer.reset()

    manager.open()
    manager.resize(1366, 728)  # a 1366 x 768 screen less its task bar, as the cashier's
    await until(lambda: manager.pin.who.count() == 2)
    manager.pin.who.setCurrentIndex(manager.pin.who.findText(DEMO_MANAGER))
    await settle()
    save(manager, "manager-pin")
    for _ in range(2):
        manager.pin.field.setText("0000")
        manager.pin.unlock()
        await until(lambda: not manager.pin.checking)
    await settle()
    save(manager, "manager-pin-wrong")
    manager.pin.who.setCurrentIndex(manager.pin.who.findText("Ana Lee"))
    for _ in range(5):
        manager.pin.field.setText("0000")
        manager.pin.unlock()
        await until(lambda: not manager.pin.checking)
    await settle()
    save(manager, "manager-pin-locked")
    manager.pin.who.setCurrentIndex(manager.pin.who.findText(DEMO_MANAGER))
    await until(lambda: manager.pin.field.isEnabled())
    manager.pin.field.setText(DEMO_PIN)
    manager.pin.unlock()
    await until(lambda: manager.unlocked)
    page = manager.receipts
    await until(lambda: len(page.rows) >= 7)
    failed = next(i for i, r in enumerate(page.rows) if Channel.SMS in r.channels and len(r.channels) == 1)
    page.table.selectRow(failed)
    await until(lambda: page.detail.detail is not None)
    await settle()
    save(manager, "manager-receipts-timeline")
    doubted = await post(runtime, rng, customer=None)
    held_receipt = await post(runtime, rng, customer=None)
    await record_doubts(runtime, doubted, held_receipt)
    page.search()
    await until(lambda: any(r.receipt_id == doubted for r in page.rows))
    page.table.selectRow(next(i for i, r in enumerate(page.rows) if r.receipt_id == doubted))
    await until(lambda: page.detail.detail is not None and page.detail.detail.summary.receipt_id == doubted)
    await settle()
    save(manager, "manager-timeline-doubts")
    manager.tabs.setCurrentWidget(manager.export)
    manager.export.export()
    await until(lambda: " lines) to " in manager.export.result.text())
    save(manager, "manager-export")
    manager.tabs.setCurrentWidget(manager.health)
    await until(lambda: bool(manager.health.chart.data))
    await settle()
    save(manager, "manager-health")
    held = manager.health.held
    await until(lambda: held.table.rowCount() == 2)
    # WhatsApp is not routed in this store: the manager drops that one and sends the text, which Twilio takes
    whatsapp = next(h.id for h in held.held if h.channel is Channel.WHATSAPP)
    text = next(h.id for h in held.held if h.channel is Channel.SMS)
    held.ask_reason(whatsapp)
    held.reason.setText("She showed the WhatsApp message at the till")
    await settle()
    save(manager, "manager-health-held-drop")
    await held.drop(whatsapp, held.reason.text())
    await held.send(text)
    await until(lambda: not held.held and manager.health.facts["warning"].text() == "none")
    await settle()
    save(manager, "manager-health-nothing-held")
    settings.open()
    settings.resize(980, 720)
    await until(lambda: not settings.providers.problem.isHidden())
    save(settings, "settings-store")
    tabs = settings.centralWidget().findChildren(type(manager.tabs))[0]
    tabs.setCurrentWidget(settings.providers)
    await settle()
    save(settings, "settings-providers")
    tabs.setCurrentWidget(settings.devices)
    await settle()
    save(settings, "settings-devices")


# -- the tabs no state above reaches: the audit check, routing, the kiosk's own settings ------------------


async def shoot_other_tabs(shell: KioskShell) -> None:
    """The manager's audit check (intact) and the settings' routing and kiosk tabs (manager signed in)."""
    manager, settings = shell.manager, shell.settings
    manager.tabs.setCurrentWidget(manager.audit)
    manager.audit.check()
    await until(lambda: manager.audit.verdict.text().startswith("Intact"))
    await settle()
    save(manager, "manager-audit-intact")
    tabs = settings.centralWidget().findChildren(type(manager.tabs))[0]
    for page, name in ((settings.routing, "settings-routing"), (settings.kiosk, "settings-kiosk")):
        tabs.setCurrentWidget(page)
        await settle()
        save(settings, name)


# -- the manager's actions: confirmations, ids on demand, dates across days, the consent page ------------


async def shoot_manager_actions(shell: KioskShell, runtime: Any) -> None:
    """A resend confirmed with the list following it, the receipt's ids behind Details, a list spanning
    days, and the consent page a text to a new number puts on the customer screen (English, Spanish)."""
    manager = shell.manager
    manager.tabs.setCurrentWidget(manager.receipts)
    page, detail = manager.receipts, manager.receipts.detail
    await page.reload()
    chosen = page.rows[0].receipt_id
    page.table.selectRow(0)
    detail.open(chosen)
    await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == chosen)
    detail.resend_channel.setCurrentIndex(detail.resend_channel.findText("Email"))
    detail.resend_to.setText("shopper.new@example.com")
    detail.resend_reason.setText("Customer asked for it at a new address")
    detail.resend()
    await until(lambda: detail.notice.text().startswith("Sale "))
    await settle()
    save(manager, "manager-resend-confirmed")
    detail.ids_toggle.setChecked(True)
    await settle()
    save(manager, "manager-timeline-details")
    detail.ids_toggle.setChecked(False)
    rows = list(page.rows)
    page.show_rows([replace(r, created_at=r.created_at - timedelta(days=n // 3)) for n, r in enumerate(rows)])
    await settle()
    save(manager, "manager-receipts-days")
    page.search()
    for language in (Language.EN, Language.ES):
        detail.asker.show_question(Channel.SMS, "+12175550188", language)
        detail.asker.resize(1280, 800)
        await settle()
        save(detail.asker, f"manager-consent-ask-{language.value}")
    detail.asker.hide()


# -- the customer screen, every page in English and Spanish (suffix -en / -es) -------------------------


async def save_both(customer: Any, name: str) -> None:
    """Save the customer screen as it is, then in the other language, and put the language back."""
    for _ in range(2):
        await settle()
        save(customer, f"{name}-{customer.language.value}")
        customer.toggle_language()


async def shoot_customer_languages(shell: KioskShell, rng: random.Random, runtime: Any) -> None:
    """A walk-in choosing, typing an address and a number, the text consent, done; a returning customer
    whose receipt went out by their saved choice (nothing to tap); the welcome."""
    customer = shell.customer
    customer.reset()
    customer.showNormal()
    customer.resize(1280, 800)
    await save_both(customer, "customer-welcome")
    await post(runtime, rng, customer=None)
    await until(lambda: customer.step is Step.CHOOSE)
    await save_both(customer, "customer-choose-walk-in")
    customer.choose.buttons[ReceiptChoice.EMAIL].click()
    customer.email.field.setText("jordan.lee@gm")
    await save_both(customer, "customer-email-typing")
    customer.email.back.click()
    customer.choose.buttons[ReceiptChoice.SMS].click()
    customer.phone.field.setText("21755501")
    await save_both(customer, "customer-phone-typing")
    customer.phone.field.setText("2175550123")
    customer.phone.next.click()
    await save_both(customer, "customer-text-consent")
    customer.confirm.send.click()
    await until(lambda: customer.step is Step.DONE)
    await save_both(customer, "customer-done")
    regular = {"name": "Luis López", "email": "luis.lopez@yahoo.com", "channels": ["email"], "language": "es"}
    sent = await post(runtime, rng, customer=regular)
    customer.show_auto_sent(await shell.ctx.kiosk.sale(sent))
    await save_both(customer, "customer-returning-auto-sent")
    customer.reset()


# -- the cashier busy with an older sale while new ones wait ("2 new"), at both laptop sizes ------------


async def shoot_cashier_waiting(shell: KioskShell, rng: random.Random, runtime: Any) -> None:
    """The cashier typing an address into an older sale when two sales arrive: the panel stays put and
    they wait as "2 new"; at 1366x768 and 1280x800, the two screens the cashier's window must fit."""
    cashier = shell.cashier
    cashier.showNormal()
    cashier.raise_()
    cashier.show_newest()  # the sales that came while other windows were shot are seen first
    await until(lambda: cashier.waiting == 0)
    rows = cashier.sales.model.rows()
    older = rows[len(rows) // 2].sale.receipt_id
    cashier.panel.open(older)
    await until(lambda: cashier.panel.sale is not None and cashier.panel.sale.receipt_id == older)
    cashier.panel.email.setText("jordan.lee@gmail.com")
    for n in range(2):
        await post(runtime, rng, customer={"email": f"next{n}@example.com", "channels": ["email"]})
    await until(lambda: cashier.waiting == 2)
    dealt_with(cashier)
    for width, height in ((1366, 768), (1280, 800)):
        cashier.resize(width, height)
        await settle()
        save(cashier, f"cashier-2-new-waiting-{width}x{height}")
    cashier.panel.email.clear()


def dealt_with(cashier: Any) -> None:
    """The cashier dismissed the failure alerts of the shots before (each shot shows its own state)."""
    for alert in cashier.alerts.alerts:
        cashier.alerts.dismiss(alert)


async def record_doubts(runtime: Any, doubted: str, held_receipt: str) -> None:
    """Attempts that met each fate of a doubt, written as a crash and its settling would leave them:
    `doubted`'s email sent again as a possible duplicate, its text found at Twilio and one dropped by
    Ana Lee; `held_receipt`'s text and WhatsApp held for a manager."""
    now = utcnow()

    def delivery(session: Any, receipt: str, channel: Channel, provider: str, to: str, state: DeliveryState) -> str:
        made = outbox.new_delivery(
            session, receipt_id=receipt, channel=channel, provider=provider, recipient=to, now=now
        )
        session.execute(update(DeliveryRow).where(DeliveryRow.id == made.id).values(state=state.value, attempts=2))
        return str(made.id)

    def attempt(delivery_id: str, number: int, provider: str, outcome: AttemptOutcome, **extra: Any) -> AttemptRow:
        started = now + timedelta(seconds=40 * number)
        done = None if outcome is AttemptOutcome.IN_DOUBT else started + timedelta(seconds=1)
        return AttemptRow(
            delivery_id=delivery_id,
            number=number,
            provider=provider,
            started_at=started,
            finished_at=done,
            outcome=outcome.value,
            **extra,
        )

    def job(session: Any) -> None:
        email = delivery(session, doubted, Channel.EMAIL, "sendgrid", "jordan.lee@gmail.com", DeliveryState.SENT)
        text = delivery(session, doubted, Channel.SMS, "twilio", "+12175550123", DeliveryState.SENT)
        dropped = delivery(session, doubted, Channel.SMS, "twilio", "+12175550188", DeliveryState.DEAD)
        held = [
            delivery(session, held_receipt, Channel.SMS, "twilio", "+12175550164", DeliveryState.HELD),
            delivery(session, held_receipt, Channel.WHATSAPP, "twilio_whatsapp", "+12175550164", DeliveryState.HELD),
        ]
        settled = now + timedelta(minutes=2)
        session.add_all(
            [
                attempt(
                    email, 1, "sendgrid", AttemptOutcome.IN_DOUBT, settled_by=SettledBy.RESENT.value, settled_at=settled
                ),
                attempt(email, 2, "sendgrid", AttemptOutcome.SENT, possible_duplicate=True, provider_message_id="sg-2"),
                attempt(
                    text,
                    1,
                    "twilio",
                    AttemptOutcome.IN_DOUBT,
                    settled_by=SettledBy.LOOKUP_FOUND.value,
                    settled_at=settled,
                ),
                attempt(
                    dropped,
                    1,
                    "twilio",
                    AttemptOutcome.IN_DOUBT,
                    settled_by=SettledBy.DROPPED.value,
                    settled_at=settled,
                    settled_actor="Ana Lee",
                ),
                *(
                    attempt(d, 1, p, AttemptOutcome.IN_DOUBT, settled_by=SettledBy.HELD.value, settled_at=settled)
                    for d, p in zip(held, ("twilio", "twilio_whatsapp"), strict=True)
                ),
            ]
        )

    await runtime.db.write(job)


async def shoot_setup(data: Path, sandbox_url: str) -> None:
    """The set-up assistant a kiosk without store settings opens: each step, its test sends answered."""
    secrets = SecretStore(env={}, backend=MemoryKeyring())
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        setup = SetupService[PrinterSettings](http, secrets.get, lambda p: build_printer_device(p, data))
        store = SettingsStore(data / "setup" / "receiptdesk.toml", secrets)
        assistant = SetupAssistant(
            Settings(), store, setup, ProviderCatalogue(), DeviceService(), data / "setup" / "kiosk.toml"
        )
        run = asyncio.ensure_future(assistant.run())
        try:
            await shoot_setup_steps(assistant, sandbox_url)
        finally:
            assistant.cancel()
            await run


async def shoot_setup_steps(assistant: SetupAssistant, sandbox_url: str) -> None:
    assistant.resize(1024, 768)
    await settle()
    save(assistant, "setup-1-welcome")
    fields = assistant.store_step.page.fields
    fields["name"].setText("Corner Grocer")
    fields["address"].setText("2 Elm Street, Springfield, IL 62704")
    fields["phone"].setText("(217) 555-0199")
    fields["website"].setText("https://cornergrocer.example")
    assistant.next()
    await until(lambda: assistant.index == 1)
    email = assistant.channels[0]
    sendgrid = email.forms["sendgrid"]
    sendgrid.settings["from_email"].setText("receipts@cornergrocer.example")
    sendgrid.settings["from_name"].setText("Corner Grocer")
    sendgrid.settings["base_url"].setText(sandbox_url)
    sendgrid.secrets["api_key"].setText(credentials.SENDGRID_API_KEY)
    email.to.setText("owner@cornergrocer.example")
    email.send_test()
    await until(lambda: email.result.property("hint") is not None)
    await settle()
    save(assistant, "setup-2-email-test-sent")
    assistant.next()
    await until(lambda: assistant.index == 2)
    text = assistant.channels[1]
    twilio = text.forms["twilio"]
    twilio.settings["account_sid"].setText(credentials.TWILIO_ACCOUNT_SID)
    twilio.settings["from_number"].setText(credentials.TWILIO_FROM)
    twilio.settings["base_url"].setText(sandbox_url)
    twilio.secrets["auth_token"].setText("a-wrong-token")
    text.to.setText("(217) 555-0147")
    text.send_test()
    await until(lambda: text.result.property("hint") is not None)
    await settle()
    save(assistant, "setup-3-text-test-refused")
    assistant.next()
    await until(lambda: assistant.index == 3)
    printer = assistant.printer_step
    printer.group.enabled.setChecked(True)
    printer.group.kind.setCurrentIndex(printer.group.kind.findData("dummy"))
    printer.print_test()
    await until(lambda: printer.result.property("hint") is not None)
    await settle()
    save(assistant, "setup-4-printer-test-page")
    assistant.next()
    await until(lambda: assistant.index == 4)
    assistant.next()  # no PIN yet: the assistant says so
    await until(lambda: bool(assistant.banner.message))
    await settle()
    save(assistant, "setup-5-kiosk-pin")


# -- the cashier at the counter: a failed text's alert at 1366 x 768, then "Send another way" -----------


async def shoot_cashier_counter(shell: KioskShell, rng: random.Random, runtime: Any, sandbox_app: Any) -> None:
    """A text the provider refused: its banner on the sale with Retry and "Send another way", the count in
    the status bar; then "Send another way" pressed: email chosen, the cursor in its field."""
    cashier, panel, faults = shell.cashier, shell.cashier.panel, sandbox_app.state.faults
    cashier.showNormal()
    cashier.resize(1366, 768)
    dealt_with(cashier)
    walk_in = await post(runtime, rng, customer=None)
    await until(lambda: cashier.sales.model.find(walk_in) >= 0)
    cashier.show_newest()
    await until(lambda: panel.sale is not None and panel.sale.receipt_id == walk_in)
    faults.configure(error_rate=1.0, error_status=400, providers=["twilio"])
    panel.set_choice(ReceiptChoice.SMS)
    panel.consent.setChecked(True)
    panel.phone.setText("(217) 555-0142")
    panel.send()
    await until(lambda: any(a.receipt_id == walk_in for a in cashier.alerts.alerts))
    faults.clear()
    await settle()
    save(cashier, "cashier-failure-alert-1366x768")
    cashier.alerts.rows[0].switch_button.click()
    await until(lambda: panel.choice() is ReceiptChoice.EMAIL)
    panel.email.setText("maria.lopez@gmail.com")
    await settle()
    save(cashier, "cashier-send-another-way-1366x768")
    panel.email.clear()
    panel.set_choice(ReceiptChoice.NONE)


# -- text-in: the QR code on the choice screen, the demo's customer texting it, Delivered at the till --------


# -- the Store tab: the whole store's day from this lane's hub ------------------------------------------


def hub_lane_records(lane: str, first: int, sales: int, *, minutes_ago: int) -> list[dict[str, Any]]:
    """A lane's feed as it reaches the hub: each sale, its receipt and its e-mail delivery (docs/hub.md), the
    sales on the store's today."""
    from app.ui import formatting

    store_midnight = formatting.store_time(formatting.store_today(), datetime_time(0, 0))
    records: list[dict[str, Any]] = []
    for n in range(sales):
        pk, at = first + n, utcnow() - timedelta(minutes=minutes_ago - 7 * n)
        at = max(at, store_midnight + timedelta(minutes=first % 100 + 3 * n))  # today's, just past midnight too
        sale = {"id": pk, "store_id": "store-0042", "sale_id": f"0042-{lane}-{pk:05d}", "lane": lane,
                "occurred_at": at.isoformat(), "total": f"{12 + 3.17 * n:.2f}", "card_last4": f"{4242 + n}",
                "customer_id": None, "currency": "USD"}  # fmt: skip
        receipt = {"id": f"r-{lane}-{pk}", "sale_pk": pk, "language": "en"}
        delivery = {"id": f"d-{lane}-{pk}", "receipt_id": receipt["id"], "channel": "email",
                    "recipient": f"shopper{pk}@example.com", "state": "delivered", "attempts": 1}  # fmt: skip
        for kind, key, data in (("sales", str(pk), sale), ("receipts", receipt["id"], receipt),
                                ("deliveries", delivery["id"], delivery)):  # fmt: skip
            records.append({"seq": len(records) + 1, "kind": kind, "key": key, "op": "upsert",
                            "at": at.isoformat(), "data": data})  # fmt: skip
    return records


async def shoot_store(shell: KioskShell, runtime: Any) -> None:
    """The Store tab of a lane whose hub serves three lanes (one of them behind), and a receipt of another
    lane chosen, ready for a resend there. The hub is this kiosk's own runtime serving the hub's routes."""
    from app import __version__
    from app.services.hub import HubService
    from app.support.asgi_server import start_asgi_server
    from app.ui.manager.window import ManagerWindow

    hub = runtime.hub = HubService(runtime.db)
    for lane, first, sales, ago, backlog in (("1", 1, 4, 50, 0), ("2", 101, 3, 40, 0), ("3", 201, 3, 45, 212)):
        body = {"lane_id": f"store-0042/{lane}", "store_id": "store-0042", "version": __version__,
                "sent_at": utcnow().isoformat(), "after": 0, "backlog": backlog,
                "records": hub_lane_records(lane, first, sales, minutes_ago=ago)}  # fmt: skip
        await hub.apply(body)
    server = await start_asgi_server(runtime.local_api(), name="hub")
    issued = await runtime.tokens.create("lane-1", ["hub:sync", "receipts:read", "receipts:resend"], actor="shots")
    os.environ["RECEIPTDESK_HUB_TOKEN"] = issued.token
    ctx = shell.ctx
    before = ctx.settings
    ctx.settings = before.model_copy(update={"hub": before.hub.model_copy(update={"url": server.url})})
    window = ManagerWindow(ctx, shell.monitor)
    try:
        window.open()
        window.resize(1366, 728)
        await until(lambda: window.pin.who.findText(DEMO_MANAGER) >= 0)
        window.pin.who.setCurrentIndex(window.pin.who.findText(DEMO_MANAGER))
        window.pin.field.setText(DEMO_PIN)
        window.pin.unlock()
        await until(lambda: window.unlocked)
        page = window.store
        assert page is not None
        window.tabs.setCurrentWidget(page)
        await until(lambda: page.table.rowCount() == 10)
        await settle()
        save(window, "manager-store")
        page.table.setCurrentCell(1, 0)
        await until(lambda: page.detail.shown is not None and page.detail.form.isEnabled())
        page.detail.reason.setText("Customer asked at lane 1")
        await settle()
        save(window, "manager-store-receipt")
    finally:
        await window.tasks.close()
        window.close()
        window.deleteLater()
        ctx.settings = before
        os.environ.pop("RECEIPTDESK_HUB_TOKEN", None)
        await server.stop()


async def shoot_text_in(shell: KioskShell, rng: random.Random, runtime: Any, demo: Any) -> None:
    """The choice screen with its text-in code for a walk-in and for a known customer (the fullest page), in
    both languages at both laptop sizes; then the demo's customer texts the code: the thank-you, and the
    cashier's panel with the text Delivered."""
    from app.ui_launch import demo_text_in_control

    customer, cashier = shell.customer, shell.cashier
    button = demo_text_in_control(shell, demo)
    maria = {"name": "Maria Lopez", "email": "maria.lopez@gmail.com", "phone": "+12175557998", "language": "en"}
    for who, name in ((None, "walk-in"), (maria, "known")):
        customer.reset()
        await post(runtime, rng, customer=who)
        await until(lambda: customer.step is Step.CHOOSE and customer.text_in_offer is not None)
        customer.showNormal()
        for width, height in ((1280, 800), (1366, 768)):
            customer.resize(width, height)
            for _ in range(2):
                await settle()
                save(customer, f"customer-choose-text-in-{name}-{customer.language.value}-{width}x{height}")
                customer.toggle_language()
    customer.toggle_language()  # the customer reads Spanish when they text the code
    receipt = customer.session.sale.receipt_id if customer.session else ""
    button.click()
    await until(lambda: customer.step is Step.DONE)
    save(customer, "customer-text-in-done-es")
    cashier.showNormal()
    cashier.resize(1366, 768)
    await until(lambda: cashier.sales.model.find(receipt) >= 0)
    cashier.show_newest()

    def delivered() -> bool:
        sale = cashier.panel.sale
        return (
            sale is not None
            and sale.receipt_id == receipt
            and any(d.state is DeliveryState.DELIVERED for d in cashier.panel.deliveries.deliveries)
        )

    await until(delivered)
    await settle()
    save(cashier, "cashier-text-in-delivered-1366x768")
    customer.reset()


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    app = prepare_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
