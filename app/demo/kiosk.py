"""The kiosk demo's back office: the provider sandbox and, on loopback, the local API its providers call back.

A real provider tells the store what became of a message through its status callbacks (Twilio's
StatusCallback, SendGrid's Event Webhook), posted to `[api] public_url`. The demo does the same on
this machine: the API listens on a free loopback port before the runtime is built, so its address is
the `public_url` the adapters give the sandbox; once the runtime exists, `serve(runtime)` puts its API
(webhook routes included) behind that address. Deliveries then go Sent -> Delivered, and now and then
one bounces and the receipt falls back to the customer's other channel, as in a store.

Text-in needs a phone: `customer_texts` plays the customer's, sending the code on the customer
screen to the store's number the way `receiptdesk sandbox fire twilio inbound` does (Twilio's signed
incoming-message webhook, to this API), so the receipt goes out by SMS with no phone at hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config.settings import Settings
from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
from app.main import Runtime
from app.providers.callback_registry import CALLBACKS
from app.sandbox.app import create_sandbox_app
from app.sandbox.fire import fire_twilio_text
from app.sandbox.server import start_sandbox
from app.support.asgi_server import RunningServer, start_asgi_server

log = logging.getLogger(__name__)

DEMO_BOUNCE_RATE = 0.1
"""The share of the demo's messages the sandbox's providers report as bounced (the fallback shows)."""
DEMO_CALLBACK_DELAY = 1.5
"""Seconds between a message accepted and each of its callbacks: Sent, then Delivered, one can watch."""
DEMO_TEXTER = "+12175550188"
"""The demo customer's phone that texts the customer screen's code (555-01xx: numbers kept for fiction)."""


class LateApp:
    """An ASGI app whose target is set once the runtime exists; until then it answers 503."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.target is not None:
            await self.target(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse("The demo is starting; try again in a moment.", status_code=503)(
                scope, receive, send
            )


@dataclass
class KioskDemo:
    """The sandbox, the loopback API address it calls back, and the runtime's settings and secrets."""

    sandbox: RunningServer
    sandbox_app: Starlette
    api: RunningServer
    settings: Settings
    secrets: dict[str, dict[str, str]]
    _door: LateApp = field(repr=False)

    def serve(self, runtime: Runtime) -> None:
        """Answer at the API's address with `runtime`'s API, webhook routes included."""
        self._door.target = runtime.local_api()
        log.info("demo: local API and provider callbacks on %s", self.api.url)

    async def stop_api(self) -> None:
        """Stop the API (before the runtime closes: no callback reaches a closed database)."""
        await self.api.stop()

    async def stop(self) -> None:
        """Stop the API, then the sandbox (its callbacks in flight are cancelled)."""
        await self.api.stop()
        await self.sandbox.stop()

    async def customer_texts(self, body: str, *, sender: str = DEMO_TEXTER) -> bool:
        """The demo customer texts `body` to the store, as Twilio delivers a text; whether the app took it.

        Raises `httpx.HTTPError` when the demo's API cannot be reached.
        """
        async with httpx.AsyncClient(timeout=10) as client:
            lines, ok = await fire_twilio_text(client, app_url=self.api.url, sender=sender, body=body)
        log.info("demo: %s", lines[0])
        return ok

    def configure_callbacks(self, **values: Any) -> None:
        """Change the sandbox's callbacks: `bounce_rate` (0..1), `delay` (seconds)."""
        self.sandbox_app.state.callbacks.configure(values)


async def start_kiosk_demo(
    settings: Settings, *, bounce_rate: float = DEMO_BOUNCE_RATE, callback_delay: float = DEMO_CALLBACK_DELAY
) -> KioskDemo:
    """Start the sandbox and the loopback API address; the settings point every provider at the sandbox
    and `[api] public_url` at that address, and the sandbox's SendGrid posts its events there."""
    sandbox_app = create_sandbox_app()
    sandbox = await start_sandbox(app=sandbox_app)
    door = LateApp()
    try:
        api = await start_asgi_server(door, "127.0.0.1", 0, name="demo-api")
    except BaseException:
        await sandbox.stop()
        raise
    runtime_settings = demo_texts(sandbox_settings(settings, sandbox.url, public_url=api.url))
    demo = KioskDemo(sandbox, sandbox_app, api, runtime_settings, sandbox_secrets(sandbox.url), door)
    demo.configure_callbacks(
        sendgrid_event_url=api.url + CALLBACKS["sendgrid"].event_path(),
        bounce_rate=bounce_rate,
        delay=callback_delay,
    )
    return demo
