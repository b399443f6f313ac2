"""Starting the kiosk: QApplication, the qasync loop, the runtime, the windows (and, in the demo,
the provider sandbox calling back the local API, and a simulated register at `--sale-every`'s pace).

The cashier's window comes first: what it does not need waits until it has been painted (the web
framework and the API, the demo's sandbox, the dispatcher, the scanner, the manager's and the
settings windows, which are built when first opened).

The windows have Qt's loop to themselves: the dispatcher and the runtime's other background work,
the local API and the demo's sandbox run on a loop of their own (`WORK_THREAD`), so a backlog
draining or a burst of sales from the register never holds up a frame. The services the windows
call are shared (the database hands each caller's result back to the caller's loop), and the event
bus calls each subscriber on its own thread."""

from __future__ import annotations

# The runtime's modules come before Qt's: once PySide6 is imported, it reads the source of every module
# imported after it (looking for its own name, for its feature switching), which cost the kiosk's start
# about a tenth of a second over the few hundred modules of the services, the storage and their libraries.
import app.demo.kiosk
import app.demo.register
import app.main.runtime  # noqa: F401

# isort: split
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import qasync
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from app.config.paths import default_config_file
from app.config.secrets import SecretStore
from app.config.settings import ManagerSettings, PrinterSettings, Settings, store_problem
from app.config.settings_writer import SettingsStore, changed_settings
from app.demo.kiosk import DEMO_TEXTER, DemoPorts, KioskDemo, open_kiosk_demo, reserve_kiosk_demo
from app.demo.register import DEFAULT_SALE_EVERY, DemoRegister
from app.domain.errors import ConfigurationError, ReceiptDeskError, Unavailable
from app.domain.pins import LockoutPolicy
from app.domain.text_limits import TextLimits
from app.main import (
    HTTP_LIMITS,
    HTTP_TIMEOUT,
    Runtime,
    build_printer_device,
    build_runtime,
    build_scanning,
    settle_heap,
)
from app.services.catalogue import ProviderCatalogue
from app.services.consent import ConsentService
from app.services.customer_rights import CustomerRightsService
from app.services.devices import DeviceService
from app.services.kiosk import KioskService, ManagerLock
from app.services.kiosk.lock import PIN_OWNER, PIN_SECRET
from app.services.managers import ManagerService
from app.support.loop_thread import LoopThread
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.errors import show_error
from app.ui.formatting import phone
from app.ui.prefs import load_prefs, prefs_path
from app.ui.shell import KioskShell

if TYPE_CHECKING:
    from app.ui.setup.assistant import FirstRun

log = logging.getLogger(__name__)

FIRST_PAINT_WAIT_S = 2.0
"""How long the rest of the start waits for the cashier's window to be painted (a window never
exposed, e.g. minimised, does not hold it up longer)."""

STARTED = "kiosk started: first window in %.2f s, everything running in %.2f s"
"""Logged (info) once the kiosk has started everything, with the seconds each step took from the
loop's start."""

WORK_THREAD = "receiptdesk-work"
"""The thread whose event loop runs the dispatcher, the background services, the API and the demo's sandbox."""

DEMO_MANAGER, DEMO_PIN = "Demo manager", "1234"
"""The demo's own manager and PIN (shown on its sign-in page); a real kiosk's managers are added with
`receiptdesk managers add NAME`."""


def prepare_app() -> QApplication:
    """The QApplication, styled (created when there is none yet)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("ReceiptDesk")
    app.setQuitOnLastWindowClosed(False)  # closing the cashier window ends the kiosk, after a clean shutdown
    app.setStyleSheet(theme.STYLE_SHEET)
    app.setWindowIcon(theme.app_icon())
    app.setDesktopFileName("receiptdesk")  # the launcher's receiptdesk.desktop, so docks show its icon
    return app


def lockout_policy(settings: ManagerSettings) -> LockoutPolicy:
    """The managers' lockout as the `[managers]` settings set it."""
    return LockoutPolicy(settings.max_tries, settings.first_lockout_seconds, settings.max_lockout_seconds)


def build_context(
    runtime: Runtime,
    *,
    file_settings: Settings,
    config_path: Path,
    export_dir: Path,
    demo: bool,
    secrets: SecretStore | None = None,
) -> KioskContext:
    """Everything the windows need, over a built runtime."""
    where = prefs_path(config_path)
    return KioskContext(
        settings=runtime.settings,
        bus=runtime.bus,
        receipts=runtime.receipts,
        health=runtime.health,
        kiosk=KioskService(
            runtime.db, runtime.routing.primaries(), runtime.bus, texts=TextLimits.of(runtime.settings.texts)
        ),
        settings_store=SettingsStore(config_path, secrets),
        file_settings=file_settings,
        prefs=load_prefs(where),
        prefs_path=where,
        manager_lock=ManagerLock(runtime.db, lockout_policy(runtime.settings.managers)),
        managers=ManagerService(runtime.db),
        export_dir=export_dir,
        catalogue=ProviderCatalogue(),
        devices=DeviceService(),
        demo=demo,
        scanning=build_scanning(runtime.settings, runtime.bus),
        capture=runtime.capture,
        retention=runtime.retention,
        text_in=runtime.text_in,
        inbound_texts=runtime.inbound_texts,
        customers=CustomerRightsService(runtime.db, store_name=runtime.settings.store.name),
        consent=ConsentService(runtime.db, runtime.bus),
    )


WINDOWING_PLATFORMS = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",), "wayland-egl": ("WAYLAND_DISPLAY",)}
"""Qt platform plugins that open windows on a display server, and the variables that name the server."""


def display_problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why the kiosk has no display to open on, in one line naming the ways out; None when it has one.

    Checked before Qt starts: without a display Qt aborts the process with its own text, which blames
    a missing library. Only Linux is checked (Windows and macOS always have their own display).
    """
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    chosen = [p.split(":")[0].strip().lower() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if any(name not in WINDOWING_PLATFORMS for name in chosen):
        return None  # offscreen, minimal, vnc, eglfs, linuxfb...: Qt needs no display server for these
    needed = sorted({var for name in chosen or WINDOWING_PLATFORMS for var in WINDOWING_PLATFORMS[name]})
    if any(env.get(var) for var in needed):
        return None
    missing = " and ".join(needed) + (" is" if len(needed) == 1 else " are")
    return (
        f"No display for the kiosk: {missing} not set. Run it in a desktop session, under Xvfb "
        "(`xvfb-run receiptdesk`), or with QT_QPA_PLATFORM=offscreen; without a screen use "
        "`receiptdesk demo --headless` for the demo and `receiptdesk serve` for a hub."
    )


def run_kiosk(
    settings: Settings,
    data_dir: Path | None,
    demo: bool,
    *,
    config_path: Path | None = None,
    sale_every: float = DEFAULT_SALE_EVERY,
) -> int:
    """Open the kiosk and run until the cashier window closes; the exit status.

    `demo` adds the in-process provider sandbox with its status callbacks (served by the local API on
    loopback) and a simulated register ringing up a sale every `sale_every` seconds (0: only on "New
    sale"), keeps data in a temporary directory unless `data_dir` is given, and adds the demo's manager
    (`Demo manager`, PIN 1234).
    Raises `Unavailable` when there is no display to open on.
    """
    problem = display_problem()
    if problem:
        raise Unavailable(problem)
    app = prepare_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        status: int = loop.run_until_complete(_run(settings, data_dir, demo, config_path, sale_every))
        return status
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _run(
    settings: Settings, data_dir: Path | None, demo: bool, config_path: Path | None, sale_every: float
) -> int:
    began = time.perf_counter()
    work = LoopThread(WORK_THREAD)
    work.start()  # idle until the first window is up
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(work.stop)  # last: everything that runs there has been stopped through it
        runtime_settings, secrets, data = settings, None, data_dir
        ports: DemoPorts | None = None
        back_office: KioskDemo | None = None

        async def stop_back_office() -> None:  # the sandbox stops last, as in a store the providers stay up
            if back_office is not None:
                await work.run(back_office.stop())

        if demo:
            ports = reserve_kiosk_demo(settings)  # the addresses only: the sandbox loads after the first window
            stack.callback(ports.close)
            stack.push_async_callback(stop_back_office)
            runtime_settings, secrets = ports.settings, ports.secrets
            data = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="receiptdesk-demo-")))
            config_path = data / "receiptdesk.toml"
        config_path = config_path or default_config_file()
        first_run = None if demo or not settings.store.missing() else await _first_run(settings, config_path, data)
        first_keys: list[str] = []
        if first_run is not None:  # the store, providers, printer and PIN were just set up and saved
            first_keys = changed_settings(settings, first_run.settings)
            settings = runtime_settings = first_run.settings
        try:
            runtime = build_runtime(runtime_settings, data=data, secrets=secrets)
        except ReceiptDeskError as exc:
            await _tell(exc)
            return 1
        stack.push_async_callback(lambda: work.run(runtime.close()))  # its background work runs there
        export_dir = data if demo and data is not None else Path.home()
        ctx = build_context(runtime, file_settings=settings, config_path=config_path, export_dir=export_dir, demo=demo)
        if demo:
            await provision_demo_manager(ctx)
        else:
            await adopt_legacy_pin(ctx, SettingsStore(config_path))
        if first_run is not None:
            detail = {"first_run": True, "keys": first_keys, "secrets_changed": list(first_run.secrets_stored)}
            await ctx.kiosk.record("kiosk-setup", "settings.changed", str(config_path), detail)
        shell = KioskShell(ctx, customer_windowed=demo and len(QGuiApplication.screens()) < 2)
        stack.push_async_callback(shell.aclose)
        closed = asyncio.Event()
        shell.sig_closed.connect(closed.set)  # before showing: a cashier window closed at once still ends the kiosk
        shell.show()
        await painted(shell.cashier, FIRST_PAINT_WAIT_S)  # the cashier sees the kiosk before the rest starts
        first_window = time.perf_counter() - began
        if ports is not None:
            back_office = opened = await work.run(open_kiosk_demo(ports))
            await work.run(_serve_demo(opened, runtime))  # the sandbox's status callbacks reach this runtime
            stack.push_async_callback(lambda: work.run(opened.stop_api()))  # and stop before it closes
        await work.run(_start_dispatching(runtime))
        if ctx.scanning is not None:
            await ctx.scanning.start()
            stack.push_async_callback(ctx.scanning.stop)
        if not demo:
            await _serve_api(stack, runtime, shell, work)
        else:
            register = DemoRegister(runtime.checkout, every=sale_every)
            register.start()
            stack.push_async_callback(register.stop)
            demo_register_controls(shell, register)
            if back_office is not None:
                demo_text_in_control(shell, back_office)
        settle_heap()
        log.info(STARTED, first_window, time.perf_counter() - began)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, closed.set)
        await closed.wait()
    return 0


class _PaintWatch(QObject):
    """Sets `done` at the first paint of the watched window."""

    def __init__(self, window: QWidget, done: asyncio.Event) -> None:
        super().__init__(window)
        self._done = done
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._done.set()
        return False


async def painted(window: QWidget, wait_s: float) -> None:
    """Return once `window` has been painted (or after `wait_s` seconds, if it never is)."""
    done = asyncio.Event()
    watch = _PaintWatch(window, done)
    try:
        await asyncio.wait_for(done.wait(), wait_s)
    except TimeoutError:
        log.info("the %s window was not painted within %.1f s; starting the rest anyway", window.objectName(), wait_s)
    finally:
        window.removeEventFilter(watch)
        watch.deleteLater()


def demo_register_controls(shell: KioskShell, register: DemoRegister) -> QPushButton:
    """The demo's "New sale" button on the cashier's status bar, and its key (Ctrl+N)."""
    button = QPushButton("New sale (demo)")
    button.setToolTip("Ctrl+N: the simulated register rings up a sale now")
    button.clicked.connect(register.ring_up)
    shell.cashier.statusBar().addPermanentWidget(button)
    QShortcut(QKeySequence("Ctrl+N"), shell.cashier, register.ring_up)
    return button


def demo_text_in_control(shell: KioskShell, back_office: KioskDemo) -> QPushButton:
    """The demo's "Customer texts the code" button on the cashier's status bar: a demo customer's phone
    texts the code on the customer screen to the store (enabled while a code is shown)."""
    button = QPushButton("Customer texts the code (demo)")
    button.setToolTip(
        f"A demo customer's phone ({phone(DEMO_TEXTER)}) texts the code on the customer screen to the store, "
        "as `receiptdesk sandbox fire twilio inbound` does; the receipt goes out by text"
    )
    button.setEnabled(shell.customer.text_in_offer is not None)
    shell.customer.choose.sig_text_in.connect(lambda offer: button.setEnabled(offer is not None))

    async def text() -> None:
        offer = shell.customer.text_in_offer
        if offer is None:
            return
        button.setEnabled(False)
        try:
            took = await back_office.customer_texts(offer.body)
        except httpx.HTTPError as exc:
            raise Unavailable(f"The demo's text did not reach the kiosk ({type(exc).__name__}); try again.") from exc
        finally:
            button.setEnabled(shell.customer.text_in_offer is not None)  # still shown: the code can be texted again
        if not took:
            raise Unavailable("The kiosk refused the demo's text; the cashier can still send the receipt.")

    button.clicked.connect(lambda: shell.tasks.start(text(), "demo_text_in"))
    shell.cashier.statusBar().addPermanentWidget(button)
    return button


async def provision_demo_manager(ctx: KioskContext) -> None:
    """The demo's manager, once per database, shown with its PIN on the sign-in page."""
    if DEMO_MANAGER not in await ctx.manager_lock.names():
        await ctx.managers.add(DEMO_MANAGER, DEMO_PIN, actor="demo", allow_weak=True)
    ctx.demo_manager = (DEMO_MANAGER, DEMO_PIN)


async def adopt_legacy_pin(ctx: KioskContext, store: SettingsStore) -> None:
    """The single manager PIN of earlier versions, kept in plain text in the keyring, becomes the manager
    `manager` (its hash only) while no manager was ever added, and leaves the keyring."""
    try:
        pin = await store.secret(PIN_OWNER, PIN_SECRET.name)
    except ReceiptDeskError:
        return
    if not pin:
        return
    if not await ctx.managers.adopt_legacy_pin(pin, actor="kiosk-setup"):
        log.warning(
            "the keyring still holds the single manager PIN of earlier versions; it opens nothing now that "
            "managers are added with `receiptdesk managers add`"
        )
        return
    try:
        await store.delete_secret(PIN_OWNER, PIN_SECRET.name)
    except ReceiptDeskError as exc:
        log.warning("the old manager PIN could not be taken out of the keyring: %s", exc.message)


async def _first_run(settings: Settings, config_path: Path, data: Path | None) -> FirstRun:
    """The set-up assistant, for a kiosk whose settings name no store; cancelled, one line saying what is missing."""
    from app.services.setup import SetupService
    from app.ui.setup.assistant import SetupAssistant

    secrets = SecretStore()
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS) as http:
        setup = SetupService[PrinterSettings](http, secrets.get, lambda printer: build_printer_device(printer, data))
        store = SettingsStore(config_path, secrets)
        assistant = SetupAssistant(
            settings, store, setup, ProviderCatalogue(), DeviceService(), prefs_path(config_path)
        )
        done = await assistant.run()
    if done is None:
        raise ConfigurationError(f"Set-up was cancelled and nothing was saved. {store_problem(settings, config_path)}")
    return done


async def _start_dispatching(runtime: Runtime) -> None:
    """`runtime.start_dispatching()`, as a coroutine for the work thread's loop."""
    runtime.start_dispatching()


async def _serve_demo(back_office: KioskDemo, runtime: Runtime) -> None:
    """The demo's API over `runtime`, built on the work thread (the web framework loads there)."""
    back_office.serve(runtime)


async def _serve_api(stack: contextlib.AsyncExitStack, runtime: Runtime, shell: KioskShell, work: LoopThread) -> None:
    """The local API the register posts sales to, on the work thread, guarded as `serve`'s is (tokens, hosts,
    origins, TLS beyond loopback); a busy port or a refused setting is shown, the kiosk keeps running."""
    from app.main.local_api import start_local_api, transport_for

    api_settings = runtime.settings.api
    try:
        transport = transport_for(api_settings, api_settings.host)
        server = await work.run(
            start_local_api(runtime, api_settings.host, api_settings.port, transport, webhooks=False)
        )
    except ConfigurationError as exc:
        show_error(exc, shell.cashier)
        return
    except OSError as exc:
        show_error(PortInUse(api_settings.port, exc), shell.cashier)
        return
    stack.push_async_callback(lambda: work.run(server.stop()))


class PortInUse(ReceiptDeskError):
    """The register's API port is taken."""

    def __init__(self, port: int, exc: OSError) -> None:
        super().__init__(
            f"The register cannot reach this kiosk: port {port} is in use ({exc.strerror}). "
            "Close the other ReceiptDesk (`receiptdesk serve`?) and restart the kiosk."
        )


async def _tell(error: ReceiptDeskError) -> None:
    """Show a start-up failure in a message box and wait until it is closed."""
    box = show_error(error, None)
    if box is not None:
        closed = asyncio.get_running_loop().create_future()
        box.finished.connect(lambda _result: None if closed.done() else closed.set_result(None))
        await closed
