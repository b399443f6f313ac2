"""The kiosk as a whole: builds the windows, routes sales between cashier and customer, closes cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLayout, QWidget

from app.services.bus import DeliveryChanged, ReceiptCreated, ScanReceived
from app.services.kiosk import KioskSale, ReceiptChoice, SendOutcome
from app.ui import theme
from app.ui.arrange import Arrangement, Rect, arrange
from app.ui.bridge import EventBridge
from app.ui.cashier.window import CashierWindow
from app.ui.context import KioskContext
from app.ui.contrast import ContrastSwitch
from app.ui.customer.placement import facing_screen
from app.ui.customer.window import CustomerWindow
from app.ui.formatting import install_us_locale, use_zone
from app.ui.status import HealthMonitor, ScannerStatus
from app.ui.tasks import TaskOwner
from app.ui.wedge import KeyboardWedge
from app.ui.widgets.dates import polish_date_edits

if TYPE_CHECKING:
    from app.ui.manager.window import ManagerWindow
    from app.ui.settings.window import SettingsWindow


class KioskShell(QObject):
    """Owns the four windows, the event bridge and the health monitor.

    The cashier's and the customer's windows are built at once; the manager's and the settings
    window the first time they are wanted (`manager`, `settings`), so the kiosk opens without
    loading what only a manager uses.
    """

    sig_closed = Signal()
    """Fires once when the cashier window closed: the kiosk should shut down."""

    def __init__(self, ctx: KioskContext, parent: QObject | None = None, *, customer_windowed: bool = False) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._windowed = customer_windowed
        install_us_locale()  # before any widget: date pickers and calendars take the default locale
        use_zone(ctx.settings.store.timezone)  # times as the store's clocks show them
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, high=ctx.prefs.high_contrast)
        self.bridge = EventBridge(ctx.bus, self)
        self.monitor = HealthMonitor(ctx.health, self.bridge, self)
        self.cashier = CashierWindow(ctx, self.monitor)
        self.customer = CustomerWindow(ctx)
        self._manager: ManagerWindow | None = None
        self._settings: SettingsWindow | None = None
        self._manager_tile: Rect | None = None
        self.tasks = TaskOwner(self.cashier, "shell")
        for window in self.windows:
            polish_date_edits(window)
        self.contrast = ContrastSwitch(ctx, self.cashier)
        self.contrast.attach(*self.windows)
        self.dedicated_screen = False
        self.arrangement: Arrangement | None = None
        """The one-screen demo's places for the windows (None: the customer has a screen of its own, or
        the kiosk shows the customer's window in turn, maximised)."""
        self._waiting: str | None = None
        self._arrival: asyncio.Event | None = None
        """Set once the latest sale to arrive has been shown (or has failed to load)."""
        self._closed = False
        self.bridge.sig_receipt_created.connect(self._receipt_created)
        self.bridge.sig_delivery_changed.connect(self._delivery_changed)
        self.cashier.sig_manager.connect(self._open_manager)
        self.cashier.sig_customer_screen.connect(self.show_customer)
        self.cashier.sig_offer.connect(lambda receipt_id: self.tasks.start(self._offer(receipt_id), "offer"))
        self.cashier.sig_sent.connect(self._cashier_sent)
        self.cashier.sig_closed.connect(self._cashier_closed)
        self.customer.sig_done.connect(self._customer_done)
        self.customer.sig_idle.connect(self._customer_idle)
        self.customer.sig_texted_in.connect(self._customer_texted_in)
        self._wire_scanner()

    @property
    def windows(self) -> tuple[QWidget, ...]:
        """Every window the kiosk has built (the manager's and the settings window once wanted)."""
        built = (self.cashier, self.customer, self._manager, self._settings)
        return tuple(window for window in built if window is not None)

    @property
    def manager(self) -> ManagerWindow:
        """The manager's window, built the first time it is wanted."""
        if self._manager is None:
            from app.ui.manager.window import ManagerWindow

            window = ManagerWindow(self.ctx, self.monitor)
            self._adopt(window)
            window.sig_settings.connect(self._open_settings)
            window.sig_locked.connect(self._close_settings)
            self._manager = window
            if self._manager_tile is not None:
                self._place_tile(window, self._manager_tile)
                window.installEventFilter(self)
        return self._manager

    @property
    def settings(self) -> SettingsWindow:
        """The settings window, built the first time it is wanted."""
        if self._settings is None:
            from app.ui.settings.window import SettingsWindow

            window = SettingsWindow(self.ctx)
            self._adopt(window)
            self._settings = window
        return self._settings

    def _adopt(self, window: QWidget) -> None:
        """A window built after the kiosk opened gets what the first ones got at start."""
        polish_date_edits(window)
        self.contrast.attach(window)

    def _open_manager(self) -> None:
        self.manager.open()

    def _open_settings(self) -> None:
        self.settings.open()

    def _close_settings(self) -> None:
        if self._settings is not None:
            self._settings.close()

    def _manager_shown(self) -> bool:
        return self._manager is not None and self._manager.isVisible()

    def show(self) -> None:
        """Show the cashier (and the customer screen when it has its own), start polling health."""
        self.cashier.show()
        self._place_customer()
        gui = QGuiApplication.instance()
        if isinstance(gui, QGuiApplication):  # a customer display switched on (or off) after the kiosk started
            gui.screenAdded.connect(self._screens_changed)
            gui.screenRemoved.connect(self._screens_changed)
        self.monitor.start()
        self.cashier.load_today()

    def _place_customer(self) -> None:
        cashier_screen = self.cashier.screen()
        screen = facing_screen(QGuiApplication.screens(), cashier_screen, self.ctx.prefs.customer_screen)
        if screen is not None:
            self.dedicated_screen = True
            self.customer.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)  # the cashier keeps the keys
            self.customer.setGeometry(screen.geometry())
            self.customer.showFullScreen()
        elif self._windowed:  # the demo on one screen: each window where it can be used, none over another
            self.arrange_windows(cashier_screen.availableGeometry())
            if self.dedicated_screen:
                self.customer.show()

    def arrange_windows(self, room: QRect) -> None:
        """Place cashier, customer and manager over `room` (see `app.ui.arrange`): side by side where it
        has room, else the customer's and the manager's windows take the cashier's place in turn."""
        self._windowed = True
        placed = arrange(Rect(room.x(), room.y(), room.width(), room.height()))
        if self.arrangement is None:
            self.customer.installEventFilter(self)  # shown or hidden: the cashier's window steps aside or back
            if self._manager is not None:
                self._manager.installEventFilter(self)
        self.arrangement = placed
        self.dedicated_screen = not placed.customer_in_turn
        self.customer.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, self.dedicated_screen)
        self._manager_tile = placed.manager  # the manager's window takes it when built
        tiles: list[tuple[QWidget, Rect]] = [(self.cashier, placed.cashier), (self.customer, placed.customer)]
        if self._manager is not None:
            tiles.append((self._manager, placed.manager))
        for placed_window, tile in tiles:
            self._place_tile(placed_window, tile)
        if self.customer.isVisible() and not self.dedicated_screen and not self.customer.in_turn:
            self.customer.hide()  # on one screen it shows only during the customer's turn
        self._take_turns()

    @staticmethod
    def _place_tile(window: QWidget, tile: Rect) -> None:
        # The windows' natural minimums add up to more than one screen: each takes its tile (never
        # smaller than it is usable at, see `app.ui.arrange`) rather than lie over another.
        relaxed = window.layout()
        if relaxed is not None:
            relaxed.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        window.setMinimumSize(0, 0)
        window.setGeometry(QRect(*tile))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide) and watched in (self.customer, self._manager):
            self._take_turns()
        return False

    def _take_turns(self) -> None:
        """In the one-screen demo, the cashier's window steps aside while a window in turn is up."""
        placed = self.arrangement
        if placed is None or self._closed:
            return
        manager = self._manager_shown()
        customer = self.customer.isVisible()
        if placed.customer_in_turn and not manager and not customer and self.customer.in_turn:
            self.show_customer()  # the customer's turn, held while the manager's window was up
            return
        shown = placed.shown(customer=customer, manager=manager)
        if ("cashier" in shown) != self.cashier.isVisible():
            self.cashier.setVisible("cashier" in shown)

    def _screens_changed(self, _screen: object = None) -> None:
        """Place the customer window again: onto a screen that appeared, or back onto the cashier's
        (shown only in the customer's turn) when its own went away."""
        if self._windowed:
            return
        had_own = self.dedicated_screen
        self.dedicated_screen = False
        self._place_customer()
        if had_own and not self.dedicated_screen:
            self.customer.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
            if self.customer.in_turn and not self._manager_shown():
                self.show_customer()
            else:
                self.customer.hide()

    def show_customer(self) -> None:
        """Bring the customer screen up (on the same screen: the cashier hands it over)."""
        placed = self.arrangement
        if placed is not None and placed.customer_in_turn and self._manager_shown():
            return  # in the one-screen demo never over the manager: the turn comes when it closes
        if self._windowed:
            self.customer.showNormal()
        elif self.dedicated_screen:
            self.customer.showFullScreen()
        else:
            self.customer.showMaximized()
        self.customer.raise_()
        self.customer.activateWindow()

    def _offer_screen(self) -> None:
        """A sale came in for the customer: on their own screen it is already there (no focus taken);
        on the cashier's it comes up for their turn, but never over an open manager window."""
        if self.dedicated_screen:
            if not self.customer.isVisible():
                self.customer.show()
        elif not self._manager_shown():
            self.show_customer()

    # -- sales ---------------------------------------------------------------------------------

    def _receipt_created(self, event: ReceiptCreated) -> None:
        before, self._arrival = self._arrival, asyncio.Event()
        self.tasks.start(self._arrived(event.receipt_id, before, self._arrival), "arrived")

    async def _arrived(self, receipt_id: str, before: asyncio.Event | None, shown: asyncio.Event) -> None:
        """Show a new sale to the cashier and offer it to the customer, in the order the sales came: two
        sales' loads may end in either order, and a slower one must never follow the newer sale onto
        the panel or the customer's screen."""
        try:
            sale = await self.ctx.kiosk.sale(receipt_id)
            if before is not None:
                await before.wait()
            self._show_arrived(sale)
        finally:
            shown.set()

    def _show_arrived(self, sale: KioskSale) -> None:
        receipt_id = sale.receipt_id
        self.cashier.add_sale(sale)
        if sale.deliveries:
            if self.dedicated_screen and not self.customer.in_turn:
                self.customer.show_auto_sent(sale)
            return
        if self.customer.in_turn:
            self._waiting = receipt_id
        else:
            self._show_offer(sale)

    async def _offer(self, receipt_id: str) -> None:
        """The cashier asked to offer this sale: hand the screen over, whatever else is open."""
        self.customer.offer(await self.ctx.kiosk.sale(receipt_id))
        self.show_customer()

    def _show_offer(self, sale: KioskSale) -> None:
        self.customer.offer(sale)
        self._offer_screen()

    def _cashier_sent(self, outcome: SendOutcome) -> None:
        self.customer.handled_elsewhere(outcome.receipt_id)

    def _customer_done(self, outcome: SendOutcome) -> None:
        self.tasks.start(self._refresh(outcome), "refresh")

    async def _refresh(self, outcome: SendOutcome) -> None:
        self.cashier.refresh_sale(await self.ctx.kiosk.sale(outcome.receipt_id), outcome.choice)

    def _customer_texted_in(self, receipt_id: str) -> None:
        self.tasks.start(self._refresh_texted_in(receipt_id), "refresh_texted_in")

    async def _refresh_texted_in(self, receipt_id: str) -> None:
        self.cashier.refresh_sale(await self.ctx.kiosk.sale(receipt_id), ReceiptChoice.SMS)

    def _customer_idle(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.tasks.start(self._offer_if_open(waiting), "offer_waiting")
        elif not self.dedicated_screen:
            self.customer.hide()
            self.cashier.raise_()
            self.cashier.activateWindow()

    async def _offer_if_open(self, receipt_id: str) -> None:
        sale = await self.ctx.kiosk.sale(receipt_id)
        if not sale.deliveries:
            self._show_offer(sale)
        elif not self.dedicated_screen:
            self.customer.hide()

    def _delivery_changed(self, event: DeliveryChanged) -> None:
        self.cashier.update_delivery(event)
        if self._manager is not None:
            self._manager.update_delivery(event)
        self.customer.delivery_changed(event)

    # -- scanning ------------------------------------------------------------------------------

    def _wire_scanner(self) -> None:
        scanning, options = self.ctx.scanning, self.ctx.settings.scanner
        self.scanner_status = ScannerStatus(*((scanning.state, scanning.detail) if scanning else ("off", None)))
        self.cashier.statusBar().addPermanentWidget(self.scanner_status)
        self.cashier.statusBar().addPermanentWidget(self.contrast.button())
        self.bridge.sig_device_state.connect(self.scanner_status.show_state)
        self.bridge.sig_scan.connect(self._scanned)
        self.wedge: KeyboardWedge | None = None
        if scanning is not None and options.wedge_enabled:
            self.wedge = KeyboardWedge(self, max_gap_ms=options.wedge_max_gap_ms, min_length=options.wedge_min_length)
            self.wedge.sig_scan.connect(lambda code: scanning.submit(code, "wedge"))
            self.wedge.watch(self.cashier, self.customer)

    def _scanned(self, event: ScanReceived) -> None:
        self.scanner_status.show_scan(event.scan)
        self.tasks.start(self.cashier.scanned(event.scan), "scanned")

    # -- closing -------------------------------------------------------------------------------

    def _cashier_closed(self) -> None:
        if not self._closed:
            self.sig_closed.emit()

    async def aclose(self) -> None:
        """Stop everything the windows started, then close and delete them."""
        if self._closed:
            return
        self._closed = True
        gui = QGuiApplication.instance()
        if isinstance(gui, QGuiApplication):
            for signal in (gui.screenAdded, gui.screenRemoved):
                with contextlib.suppress(RuntimeError, TypeError):  # never connected: the kiosk was not shown
                    signal.disconnect(self._screens_changed)
        if self.wedge is not None:
            self.wedge.close()
        await self.monitor.stop()
        owners = [self.tasks, self.contrast.tasks, self.cashier.tasks, self.customer.tasks]
        owners += [window.tasks for window in (self._manager, self._settings) if window is not None]
        for owner in owners:
            await owner.close()
        self.bridge.close()
        for window in self.windows:
            window.close()
            window.deleteLater()
