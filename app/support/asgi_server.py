"""Serving an ASGI app with uvicorn inside the caller's running event loop.

The local API and the provider sandbox both run this way, on the loop that carries the dispatcher
(`serve`'s only loop; in the kiosk, the work thread's loop beside Qt's, `app.support.loop_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from app.support.listening import listening_socket

STARTUP_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves process signal handlers to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class RunningServer:
    """An ASGI app served on a socket by a task of the current event loop."""

    url: str
    port: int
    app: ASGIApp
    server: uvicorn.Server = field(repr=False)
    task: asyncio.Task[None] = field(repr=False)
    on_stop: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, wait for the server task, then run `on_stop`."""
        self.server.should_exit = True
        await self.task
        if self.on_stop is not None:
            hook, self.on_stop = self.on_stop, None
            await hook()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def start_asgi_server(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "asgi",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    sock: socket.socket | None = None,
) -> RunningServer:
    """Serve `app` on host:port (0 picks a free port) and return once it accepts connections.

    With `ssl_certfile` and `ssl_keyfile` (PEM files) it speaks HTTPS only, and its URL says so.
    With `sock` (a listening socket from `listening_socket`) it serves there instead of binding.
    """
    if sock is None:
        sock = listening_socket(host, port)
    else:  # a socket the caller bound and set listening earlier (its address is already known)
        host = sock.getsockname()[0]
    bound_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        log_level="warning",
        access_log=False,
        http="httptools",
        lifespan="off",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{name}-{host}:{bound_port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # re-raise the startup failure
            raise RuntimeError(f"{name} server exited during startup")
        if loop.time() > deadline:
            server.should_exit = True
            await task
            raise TimeoutError(f"{name} server did not start in time")
        await asyncio.sleep(0.005)
    display_host = f"[{host}]" if ":" in host else host
    scheme = "https" if ssl_certfile else "http"
    return RunningServer(f"{scheme}://{display_host}:{bound_port}", bound_port, app, server, task)
