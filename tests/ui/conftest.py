"""Kiosk tests: real runtime on a temporary SQLite file, the provider sandbox over loopback HTTP,
offscreen Qt, and one qasync loop per test that each test's async body runs on.

`hygiene` (autouse) fails a test that leaves a top-level widget, a running QTimer or a pending
asyncio task behind.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import asyncio
import gc
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import qasync
from keyring.backends import fail
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.config.secrets import SecretStore
from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.pos import make_sale
from app.sandbox.server import RunningSandbox, start_sandbox
from app.services.checkout import CheckoutResult
from app.services.kiosk import ManagerLock
from app.triggers.pos import pos_event
from app.ui import formatting, theme
from app.ui.manager.window import ManagerWindow
from app.ui.prefs import KioskPrefs
from app.ui.shell import KioskShell
from app.ui_launch import build_context, lockout_policy

DRIVE_LIMIT_S = 90.0
"""The most one kiosk test may take, set-up and tear-down included (a body gets 40 s)."""


MANAGER, PIN = "Test manager", "2468"
"""The manager every kiosk test starts with."""


class Clock:
    """The managers' lockout clock, which a test moves forward."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Kiosk:
    """A running kiosk for one test."""

    runtime: Runtime
    sandbox: RunningSandbox
    shell: KioskShell
    clock: Clock
    config_path: Path
    rng: random.Random

    async def post_sale(self, **changes: Any) -> CheckoutResult:
        """Ring up one simulated sale through checkout; `customer=None` drops the customer."""
        payload = make_sale(self.rng, sale_id=f"T{self.rng.randrange(10**8):08d}", lane="2")
        for key, value in changes.items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        sale = parse_sale(payload)
        return await self.runtime.checkout.accept(pos_event(sale, idempotency_key=None, received_at=utcnow()))


async def from_loop(action: Callable[[], object]) -> None:
    """Run UI input (QTest or qtbot clicks and keys) from a plain loop callback, as the window
    system delivers it: QTest may process pending events, which must not happen inside a running
    task (qasync would step another task inside it, and that task's step would be lost)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the awaiting test as it is
            done.set_exception(exc)
        else:
            done.set_result(None)

    loop.call_soon(run)
    await done


async def type_pin(qtbot: Any, manager: ManagerWindow, pin: str, name: str | None = None) -> None:
    """Choose the manager (`name`, or the one preselected), type a PIN on the keypad, press Enter, and
    wait until the PIN was checked."""
    page = manager.pin
    await until(lambda: page.who.count() > 0, what="the managers to be listed")
    if name is not None and page.name != name:
        page.who.setCurrentIndex(page.who.findText(name))
        await page.refresh_lock()

    def press() -> None:
        for digit in pin:
            qtbot.mouseClick(page.pad.keys[digit], Qt.MouseButton.LeftButton)
        qtbot.keyClick(page.field, Qt.Key.Key_Return)

    await from_loop(press)
    await until(lambda: not page.checking, what="the PIN to be checked")


async def until(condition: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    """Wait, letting the loop run, until `condition()` is truthy (the timeout is for a busy machine)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


Drive = Callable[[Callable[[Kiosk], Awaitable[None]]], None]


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["receiptdesk-tests"]


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop over the test QApplication; closed after the test."""
    qapp.setStyleSheet(theme.STYLE_SHEET)
    qapp.setQuitOnLastWindowClosed(False)  # the kiosk decides when to stop, as in `run_kiosk`
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def machine_zone() -> Iterator[None]:
    """Every test starts and ends showing times in this computer's zone (a kiosk sets the store's)."""
    formatting.use_zone(None)
    yield
    formatting.use_zone(None)


@pytest.fixture(autouse=True)
def hygiene(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if it leaves top-level widgets, running QTimers or pending asyncio tasks."""
    if "loop" not in request.fixturenames:
        yield
        return
    qapp: QApplication = request.getfixturevalue("qapp")
    event_loop: qasync.QEventLoop = request.getfixturevalue("loop")
    before = set(QApplication.topLevelWidgets())
    timers: list[QTimer] = []
    original_start = QTimer.start

    def tracking_start(self: QTimer, *args: Any) -> None:
        timers.append(self)
        original_start(self, *args)

    monkeypatch.setattr(QTimer, "start", tracking_start)
    yield
    monkeypatch.undo()
    gc.collect()  # let Qt objects the test dropped go now, not in the middle of a later test's event
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    problems: list[str] = []
    left = [w for w in QApplication.topLevelWidgets() if w not in before]
    if left:
        problems.append(f"top-level widgets left: {[type(w).__name__ for w in left]}")
    running = []
    for timer in timers:
        try:
            if timer.isActive():
                running.append(timer.objectName() or repr(timer))
        except RuntimeError:  # deleted with its owner: fine
            continue
    if running:
        problems.append(f"QTimers still running: {running}")
    if not event_loop.is_closed():
        pending = [t for t in asyncio.all_tasks(event_loop) if not t.done()]
        if pending:
            problems.append(f"asyncio tasks pending: {[t.get_name() for t in pending]}")
            for task in pending:
                task.cancel()
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def drive(loop: qasync.QEventLoop, tmp_path: Path, request: pytest.FixtureRequest) -> Drive:
    """`drive(body)`: start the whole kiosk (fresh database, in-process sandbox), shown; run
    `await body(kiosk)`; close everything. One `run_until_complete` per test."""
    marker = request.node.get_closest_marker("prefs")
    prefs = KioskPrefs(**marker.kwargs) if marker else KioskPrefs()
    routed = request.node.get_closest_marker("routing")
    routing = routed.kwargs["channels"] if routed else None

    async def main(body: Callable[[Kiosk], Awaitable[None]]) -> None:
        sandbox = await start_sandbox()
        runtime = build_runtime(
            sandbox_settings(Settings(), sandbox.url, routing=routing),
            data=tmp_path,
            secrets=sandbox_secrets(sandbox.url),
        )
        shell: KioskShell | None = None
        try:
            runtime.start_dispatching()
            ctx = build_context(
                runtime,
                file_settings=Settings(),
                config_path=tmp_path / "config" / "receiptdesk.toml",
                export_dir=tmp_path,
                demo=False,
                secrets=SecretStore(env={}, backend=fail.Keyring()),
            )
            ctx.prefs = prefs
            clock = Clock()
            ctx.manager_lock = ManagerLock(runtime.db, lockout_policy(runtime.settings.managers), clock=clock)
            await ctx.managers.add(MANAGER, PIN, actor="test")
            shell = KioskShell(ctx)
            shell.show()
            await until(lambda: shell is not None and shell.monitor.latest is not None, what="first health check")
            kiosk = Kiosk(runtime, sandbox, shell, clock, ctx.settings_store.path, random.Random(request.node.name))
            await asyncio.wait_for(body(kiosk), 40)
        finally:
            if shell is not None:
                await shell.aclose()
            await runtime.close()
            await sandbox.stop()

    def run(body: Callable[[Kiosk], Awaitable[None]]) -> None:
        def watchdog() -> None:
            # A stuck kiosk must fail the test, not hang the run: pytest-timeout's alarm cannot get
            # through while Qt waits for events. Say where every task was, then stop the loop.
            for task in asyncio.all_tasks(loop):
                task.print_stack(file=sys.stderr)
            loop.stop()

        guard = loop.call_later(DRIVE_LIMIT_S, watchdog)
        try:
            loop.run_until_complete(main(body))
        finally:
            guard.cancel()

    return run


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "prefs(**values): kiosk preferences for the `kiosk` fixture")
    config.addinivalue_line("markers", "routing(channels={...}): the kiosk's providers per channel")
