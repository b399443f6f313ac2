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

Starting in two steps lets the kiosk show its first window before any web code loads:
`reserve_kiosk_demo` only takes the two loopback ports (so the settings can name them), and
`open_kiosk_demo` later loads the sandbox and serves both on them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.config.settings import Settings
from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
from app.support.listening import listening_socket

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

    from app.main import Runtime
    from app.support.asgi_server import RunningServer

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
            from starlette.responses import PlainTextResponse

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
        import httpx

        from app.sandbox.fire import fire_twilio_text

        async with httpx.AsyncClient(timeout=10) as client:
            lines, ok = await fire_twilio_text(client, app_url=self.api.url, sender=sender, body=body)
        log.info("demo: %s", lines[0])
        return ok

    def configure_callbacks(self, **values: Any) -> None:
        """Change the sandbox's callbacks: `bounce_rate` (0..1), `delay` (seconds)."""
        self.sandbox_app.state.callbacks.configure(values)


@dataclass
class DemoPorts:
    """The demo's two loopback ports, taken and listening but not yet served, and the settings naming them."""

    sandbox: socket.socket
    api: socket.socket
    settings: Settings
    secrets: dict[str, dict[str, str]]

    def close(self) -> None:
        """Give the ports back (nothing happens once they are served: the servers own them then)."""
        for sock in (self.sandbox, self.api):
            with contextlib.suppress(OSError):
                sock.close()


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def reserve_kiosk_demo(settings: Settings) -> DemoPorts:
    """Take the sandbox's and the API's loopback ports; the settings point every provider at the
    sandbox and `[api] public_url` at the API. Loads no web code: `open_kiosk_demo` serves them."""
    sandbox = listening_socket("127.0.0.1", 0)
    try:
        api = listening_socket("127.0.0.1", 0)
    except BaseException:
        sandbox.close()
        raise
    sandbox_url, api_url = _url(sandbox), _url(api)
    runtime_settings = demo_texts(sandbox_settings(settings, sandbox_url, public_url=api_url))
    return DemoPorts(sandbox, api, runtime_settings, sandbox_secrets(sandbox_url))


async def open_kiosk_demo(
    ports: DemoPorts, *, bounce_rate: float = DEMO_BOUNCE_RATE, callback_delay: float = DEMO_CALLBACK_DELAY
) -> KioskDemo:
    """Serve the sandbox and the API's address (503 until `serve`) on the reserved ports; the sandbox's
    SendGrid posts its events there."""
    from app.providers.callback_registry import CALLBACKS
    from app.sandbox.app import create_sandbox_app
    from app.support.asgi_server import start_asgi_server

    sandbox_app = create_sandbox_app()
    door = LateApp()
    try:
        sandbox = await start_asgi_server(sandbox_app, name="sandbox", sock=ports.sandbox)
        sandbox.on_stop = sandbox_app.state.callbacks.close  # as `start_sandbox` does
    except BaseException:
        ports.close()
        raise
    try:
        api = await start_asgi_server(door, name="demo-api", sock=ports.api)
    except BaseException:
        ports.api.close()
        await sandbox.stop()
        raise
    demo = KioskDemo(sandbox, sandbox_app, api, ports.settings, ports.secrets, door)
    demo.configure_callbacks(
        sendgrid_event_url=api.url + CALLBACKS["sendgrid"].event_path(),
        bounce_rate=bounce_rate,
        delay=callback_delay,
    )
    return demo


async def start_kiosk_demo(
    settings: Settings, *, bounce_rate: float = DEMO_BOUNCE_RATE, callback_delay: float = DEMO_CALLBACK_DELAY
) -> KioskDemo:
    """Start the sandbox and the loopback API address at once (`reserve_kiosk_demo`, then `open_kiosk_demo`)."""
    return await open_kiosk_demo(reserve_kiosk_demo(settings), bounce_rate=bounce_rate, callback_delay=callback_delay)
