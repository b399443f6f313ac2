"""An asyncio event loop on a thread of its own, for work that must not share the caller's loop.

The kiosk's windows run on Qt's loop (through qasync); the dispatcher, the local API and the demo's
sandbox run here, so a backlog draining or a burst of sales never holds up a frame. Work is handed
over as coroutines: `await thread.run(coro)` from another loop runs `coro` here and hands back its
result (or its exception); cancelling the awaiting task cancels the coroutine here.

Objects a coroutine creates here (tasks, servers, connection pools) belong to this loop: stop them
with another `run`, never from the caller's loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_WAIT_S = 10.0
"""How long `stop` waits for the loop's thread to end (its tasks are cancelled first)."""


class LoopThread:
    """A daemon thread running one asyncio event loop; `start()`, `run(...)`, then `stop()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The thread's loop (once started)."""
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._loop

    def start(self) -> None:
        """Start the thread and return once its loop runs."""
        self._thread.start()
        self._ready.wait()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this thread's loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        """Cancel what still runs on the loop, stop it and wait for the thread (idempotent)."""
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            return
        loop.call_soon_threadsafe(self._cancel_all)
        self._thread.join(STOP_WAIT_S)
        if self._thread.is_alive():
            log.warning("%s did not stop within %.0f s; leaving it to end with the process", self.name, STOP_WAIT_S)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _cancel_all(self) -> None:
        loop = self.loop
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if not pending:
            loop.stop()
            return
        waiting = asyncio.gather(*pending, return_exceptions=True)
        waiting.add_done_callback(lambda _f: loop.stop())
