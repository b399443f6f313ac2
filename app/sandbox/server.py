"""Run the sandbox under uvicorn: embedded in the caller's event loop, or forever for the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from starlette.types import ASGIApp

from app.sandbox.app import create_sandbox_app
from app.support.asgi_server import RunningServer, start_asgi_server

RunningSandbox = RunningServer
"""A sandbox served on loopback by a task of the current event loop (`url`, `port`, `app`, `stop()`)."""


async def start_sandbox(host: str = "127.0.0.1", port: int = 0, *, app: ASGIApp | None = None) -> RunningServer:
    """Serve `app` (default: a fresh `create_sandbox_app()`) on host:port in the running loop.

    Port 0 picks a free port; the returned `url`/`port` carry the bound one. Returns once the
    server accepts connections; call `stop()` (or use `async with`) to shut it down.
    """
    app = app if app is not None else create_sandbox_app()
    running = await start_asgi_server(app, host, port, name="sandbox")
    callbacks = getattr(getattr(app, "state", None), "callbacks", None)
    if callbacks is not None:
        running.on_stop = callbacks.close
    return running


async def _serve_until_signalled(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. Windows: Ctrl+C raises instead
            loop.add_signal_handler(sig, stop.set)
    sandbox = await start_sandbox(host, port)
    print(f"Sandbox listening on {sandbox.url}", flush=True)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([waiter, sandbox.task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        await sandbox.stop()


def run_sandbox_forever(host: str, port: int) -> None:
    """Block serving the sandbox (`receiptdesk sandbox --port N`) until SIGINT/SIGTERM."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_signalled(host, port))
