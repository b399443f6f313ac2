"""The kiosk demo shows the whole life of a receipt: the sandbox's providers call the demo's local API
back (Twilio's signed StatusCallback, SendGrid's signed Event Webhook), so deliveries reach Delivered,
and a bounced email falls back to a text. Built as `receiptdesk demo` builds it: `start_kiosk_demo`,
then the runtime, the windows (offscreen) and the register's "New sale" button (pace 0).

Pins: the kiosk demo gave the sandbox no callback address and served no API, so its deliveries
stayed "sent" for ever.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import qasync
from keyring.backends import fail
from PySide6.QtCore import Qt
from sqlalchemy import select

from app.config.secrets import SecretStore
from app.config.settings import Settings
from app.demo.kiosk import KioskDemo, start_kiosk_demo
from app.demo.register import DemoRegister
from app.domain.clock import utcnow
from app.domain.delivery import DeliveryState
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.pos import make_sale
from app.services.bus import DeliveryChanged, ReceiptCreated
from app.storage.models import DeliveryRow
from app.triggers.pos import pos_event
from app.ui.shell import KioskShell
from app.ui_launch import build_context, demo_register_controls, provision_demo_manager
from tests.conftest import wait_until
from tests.ui.conftest import from_loop

ANA = {"name": "Ana Garcia", "email": "ana.garcia@example.com", "phone": "+12175550142"}

Body = Callable[[KioskDemo, Runtime, KioskShell], Awaitable[None]]


def run_demo(loop: qasync.QEventLoop, tmp_path: Path, body: Body) -> None:
    """Start the kiosk demo's back office, runtime and windows; run `body`; close in the demo's order."""

    async def main() -> None:
        demo = await start_kiosk_demo(Settings(), bounce_rate=0.0, callback_delay=0.05)
        runtime = build_runtime(demo.settings, data=tmp_path, secrets=demo.secrets)
        demo.serve(runtime)
        shell: KioskShell | None = None
        try:
            runtime.start_dispatching()
            ctx = build_context(
                runtime,
                file_settings=Settings(),
                config_path=tmp_path / "receiptdesk.toml",
                export_dir=tmp_path,
                demo=True,
                secrets=SecretStore(env={}, backend=fail.Keyring()),
            )
            await provision_demo_manager(ctx)
            shell = KioskShell(ctx)
            shell.show()
            await asyncio.wait_for(body(demo, runtime, shell), 40)
        finally:
            if shell is not None:
                await shell.aclose()
            await demo.stop_api()
            await runtime.close()
            await demo.stop()

    loop.run_until_complete(main())


async def ring_up(runtime: Runtime, sale_id: str, customer: dict[str, Any]) -> str:
    payload = make_sale(random.Random(sale_id), sale_id=sale_id, lane="1")
    payload["customer"] = customer
    result = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return str(result.receipt_id)


async def states(runtime: Runtime, receipt_id: str) -> list[tuple[str, str]]:
    """The receipt's deliveries, oldest first: (channel, state)."""
    rows = await runtime.db.read(
        lambda s: s.execute(
            select(DeliveryRow.channel, DeliveryRow.state)
            .where(DeliveryRow.receipt_id == receipt_id)
            .order_by(DeliveryRow.created_at)
        ).all()
    )
    return [(str(channel), str(state)) for channel, state in rows]


def test_the_demo_sandbox_calls_back_so_deliveries_reach_delivered_and_a_bounce_falls_back(
    loop: qasync.QEventLoop, tmp_path: Path, qtbot: Any
) -> None:
    async def body(demo: KioskDemo, runtime: Runtime, shell: KioskShell) -> None:
        assert demo.settings.api.public_url == demo.api.url  # the address the sandbox's providers call back
        first = await ring_up(runtime, "DEMO-1", {**ANA, "channels": ["email", "sms"]})

        async def first_delivered() -> bool:
            return sorted(await states(runtime, first)) == [("email", "delivered"), ("sms", "delivered")]

        await wait_until(first_delivered, timeout=20)

        def bounce_only_the_email(event: DeliveryChanged) -> None:
            # runs as the bounce is published, before its fallback text is handed to the dispatcher
            if event.state is DeliveryState.BOUNCED:
                demo.configure_callbacks(bounce_rate=0.0)

        runtime.bus.subscribe(DeliveryChanged, bounce_only_the_email)
        demo.configure_callbacks(bounce_rate=1.0)
        second = await ring_up(runtime, "DEMO-2", {**ANA, "channels": ["email"]})

        async def fell_back() -> bool:
            return await states(runtime, second) == [("email", "bounced"), ("sms", "delivered")]

        await wait_until(fell_back, timeout=20)

        # at pace 0 the demo's register rings up a sale only on "New sale" (one start-up serves both checks)
        register = DemoRegister(runtime.checkout, every=0, seed=5)
        created: list[ReceiptCreated] = []
        runtime.bus.subscribe(ReceiptCreated, created.append)
        button = demo_register_controls(shell, register)
        try:
            register.start()
            assert button.isVisible() and register.posted == 0
            await from_loop(lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))
            await wait_until(lambda: register.posted == 1 and len(created) == 1)
        finally:
            await register.stop()

    run_demo(loop, tmp_path, body)
