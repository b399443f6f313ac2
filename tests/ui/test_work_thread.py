"""The kiosk keeps Qt's loop for its windows: the dispatcher, the demo's sandbox and its API run on the
work thread's loop, and what they report still reaches the windows, on the windows' thread.

Runs the kiosk demo as `receiptdesk demo` does (`app.ui_launch._run`, offscreen), rings up a sale
whose customer chose e-mail and text, and follows its receipt to Delivered.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

import app.ui_launch as launch
from app.config.settings import Settings
from app.services.bus import DeliveryChanged
from app.ui.context import KioskContext
from tests.ui.conftest import until
from tests.ui.test_demo_kiosk import ANA, ring_up


def test_the_dispatcher_runs_on_the_work_thread_and_its_news_reaches_the_windows_thread(
    loop: qasync.QEventLoop, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts: list[KioskContext] = []
    runtimes: list[Any] = []
    real_build_context = launch.build_context

    def capture(runtime: Any, **kwargs: Any) -> KioskContext:
        ctx = real_build_context(runtime, **kwargs)
        runtimes.append(runtime)
        contexts.append(ctx)
        return ctx

    monkeypatch.setattr(launch, "build_context", capture)
    started = asyncio.Event()

    class Started(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg == launch.STARTED:
                started.set()

    handler = Started()
    launch.log.addHandler(handler)
    launch.log.setLevel(logging.INFO)
    seen: list[tuple[str, str]] = []  # (state, thread) of each delivery change the windows' thread heard

    def close_kiosk() -> None:
        for window in QApplication.topLevelWidgets():
            if type(window).__name__ == "CashierWindow":
                window.close()

    async def body() -> None:
        await started.wait()
        try:
            await follow_a_sale()
        finally:
            close_kiosk()  # the kiosk ends, as when the cashier closes it

    async def follow_a_sale() -> None:
        runtime, ctx = runtimes[0], contexts[0]
        ui_thread = threading.current_thread().name
        assert runtime.dispatcher.running
        work = next(t for t in threading.enumerate() if t.name == launch.WORK_THREAD)
        assert runtime.dispatcher._loop_task.get_loop() is not asyncio.get_running_loop()
        ctx.bus.subscribe(DeliveryChanged, lambda e: seen.append((e.state.value, threading.current_thread().name)))
        await ring_up(runtime, "WORK-1", {**ANA, "channels": ["email", "sms"]})  # as the register's API would
        await until(lambda: any(state == "delivered" for state, _ in seen), timeout=30, what="a delivery delivered")
        assert {thread for _, thread in seen} == {ui_thread}
        assert work.is_alive()

    async def main() -> int:
        probe = asyncio.ensure_future(body())
        status = await launch._run(Settings(), tmp_path, True, None, 0)
        await probe
        return status

    try:
        assert loop.run_until_complete(asyncio.wait_for(main(), 60)) == 0
    finally:
        launch.log.removeHandler(handler)
    assert not any(t.name == launch.WORK_THREAD for t in threading.enumerate())  # stopped with the kiosk
