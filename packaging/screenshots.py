"""Render every kiosk window to PNG in ./screenshots/ (offscreen, real runtime and sandbox).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/screenshots.py

Runs the real kiosk over a temporary database and the in-process provider sandbox, walks each
screen into a telling state (a sale with its preview, the customer typing with typo help, the
SMS consent, the manager's timeline, export and health chart, settings) and saves each window.
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
from pathlib import Path
from typing import Any

import qasync
from keyring.backends import fail
from PySide6.QtWidgets import QWidget

from app.config.secrets import SecretStore
from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.main import build_runtime
from app.sandbox.pos import make_sale
from app.sandbox.server import start_sandbox
from app.services.kiosk import ReceiptChoice
from app.triggers.pos import pos_event
from app.ui.customer.flow import Step
from app.ui.shell import KioskShell
from app.ui_launch import DEMO_PIN, build_context, prepare_app

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


async def main() -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="receiptdesk-shots-") as tmp:
        data = Path(tmp)
        sandbox = await start_sandbox()
        runtime = build_runtime(
            sandbox_settings(Settings(), sandbox.url), data=data, secrets=sandbox_secrets(sandbox.url)
        )
        runtime.start_dispatching()
        ctx = build_context(
            runtime,
            file_settings=Settings(),
            config_path=data / "receiptdesk.toml",
            manager_pin=DEMO_PIN,
            export_dir=data,
            demo=True,
            secrets=SecretStore(env={}, backend=fail.Keyring()),
        )
        shell = KioskShell(ctx)
        try:
            await shoot(shell, rng, runtime, sandbox.app)
        finally:
            await shell.aclose()
            await runtime.close()
            await sandbox.stop()


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
    save(customer, "customer-welcome")
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
    save(customer, "customer-choose")
    customer.choose.buttons[ReceiptChoice.EMAIL].click()
    await settle()
    save(customer, "customer-known-prefill")
    customer.confirm.not_me.click()
    customer.email.field.setText("jordan.lee@gmial.com")
    await settle()
    save(customer, "customer-email-typo-help")
    customer.email.suggestion.click()
    customer.email.back.click()
    customer.toggle_language()
    customer.choose.buttons[ReceiptChoice.SMS].click()
    customer.phone.field.setText("2175550123")
    customer.phone.next.click()
    await settle()
    save(customer, "customer-text-consent-es")
    customer.confirm.send.click()
    await until(lambda: customer.step is Step.DONE)
    save(customer, "customer-done-es")

    manager.open()
    manager.resize(1366, 860)
    await settle()
    save(manager, "manager-pin")
    manager.pin.field.setText(DEMO_PIN)
    manager.pin.unlock()
    page = manager.receipts
    await until(lambda: len(page.rows) >= 7)
    failed = next(i for i, r in enumerate(page.rows) if Channel.SMS in r.channels and len(r.channels) == 1)
    page.table.selectRow(failed)
    await until(lambda: page.detail.detail is not None)
    await settle()
    save(manager, "manager-receipts-timeline")
    manager.tabs.setCurrentWidget(manager.export)
    manager.export.export()
    await until(lambda: manager.export.result.text().startswith("Exported"))
    save(manager, "manager-export")
    manager.tabs.setCurrentWidget(manager.health)
    await until(lambda: bool(manager.health.chart.data))
    await settle()
    save(manager, "manager-health")
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


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    app = prepare_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
