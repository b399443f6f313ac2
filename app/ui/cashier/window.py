"""The cashier's window: sales on the left, the sale at hand on the right, status at the bottom.

The sale at hand never changes under the cashier's hands: a new sale takes the panel only while
the cashier is idle on the newest sale with the pointer off the list (`following`); otherwise it
waits as "N new" below the list, and the list's highlighted row is always the sale shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.domain.barcodes import Scan, ScanKind
from app.domain.clock import utcnow
from app.services.bus import DeliveryChanged
from app.services.kiosk import KioskSale, ReceiptChoice, SendOutcome, start_of_day
from app.ui import theme
from app.ui.cashier.alerts import FailureAlert, FailureAlerts, count_text
from app.ui.cashier.sale_list import SaleList
from app.ui.cashier.sale_panel import SalePanel
from app.ui.context import KioskContext
from app.ui.errors import ErrorBanner
from app.ui.formatting import RETRYABLE
from app.ui.status import HealthMonitor, StatusPanel
from app.ui.tasks import TaskOwner


class CashierWindow(QMainWindow):
    """Keyboard-first: Ctrl+F finds, arrows move through sales, Ctrl+Enter sends, Ctrl+M opens the manager."""

    sig_manager = Signal()
    """Fires when the cashier asks for the manager window."""

    sig_customer_screen = Signal()
    """Fires when the cashier asks to show the customer screen."""

    sig_offer = Signal(str)
    """Fires with a receipt id the cashier hands to the customer screen."""

    sig_sent = Signal(object)
    """Fires with a `SendOutcome` after the cashier sent a receipt."""

    sig_closed = Signal()
    """Fires when the window was closed (the kiosk shuts down)."""

    def __init__(self, ctx: KioskContext, monitor: HealthMonitor) -> None:
        super().__init__()
        self._ctx = ctx
        self.tasks = TaskOwner(self, "cashier")
        self.setWindowTitle(f"ReceiptDesk \u2014 {ctx.store_name}" + (" (demo)" if ctx.demo else ""))
        self.setAccessibleName("Cashier")
        self.banner = ErrorBanner()
        self.sales = SaleList(ctx.kiosk, self.tasks)
        self.panel = SalePanel(ctx, self.tasks)
        self.alerts = FailureAlerts()
        self._waiting: list[str] = []
        self.sales.sig_open.connect(self.panel.open)
        self.sales.sig_newest.connect(self.show_newest)
        self.sales.model.modelReset.connect(self._highlight_shown)
        self.panel.sig_shown.connect(self._shown)
        self.panel.sig_sent.connect(self._sent)
        self.panel.sig_offer.connect(self.sig_offer)
        self.alerts.sig_retry.connect(lambda alert: self.tasks.start(self._retry(alert), "retry_failed"))
        self.alerts.sig_switch.connect(lambda alert: self.tasks.start(self._switch(alert), "switch_failed"))
        title = QLabel(ctx.store_name)
        title.setTextFormat(Qt.TextFormat.PlainText)
        theme.set_font(title, 1.5, bold=True)
        customer = QPushButton("C&ustomer screen")
        customer.setToolTip("Ctrl+U")
        customer.clicked.connect(self.sig_customer_screen)
        manager = QPushButton("&Manager\u2026")
        manager.setToolTip("Ctrl+M")
        manager.clicked.connect(self.sig_manager)
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(self.panel.offer_button)
        top.addWidget(customer)
        top.addWidget(manager)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.sales)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 5)
        splitter.setChildrenCollapsible(False)
        line = self.fontMetrics().height()
        splitter.setSizes([line * 31, line * 49])  # the list keeps room for its receipt-state column
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.alerts)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(body)
        self.status_panel = StatusPanel(monitor)
        self.statusBar().addWidget(self.status_panel, 1)
        self.banner.sig_dismissed.connect(self.status_panel.clear_shown_error)
        self.failures = QLabel()
        self.failures.setAccessibleName("Failed receipts")
        self.failures.setProperty("hint", "bad")
        theme.set_font(self.failures, 1.0, bold=True)
        self.statusBar().addPermanentWidget(self.failures)
        self.alerts.sig_count.connect(lambda n: self.failures.setText(count_text(n)))
        QShortcut(QKeySequence("Ctrl+F"), self, self._find)
        QShortcut(QKeySequence("Ctrl+M"), self, self.sig_manager.emit)
        QShortcut(QKeySequence("Ctrl+U"), self, self.sig_customer_screen.emit)
        self.resize(1366, 728)  # a 1366 x 768 screen less its task bar

    def _find(self) -> None:
        self.sales.search_box.setFocus()
        self.sales.search_box.selectAll()

    def load_today(self) -> None:
        """Fill the list with today's sales."""
        self.tasks.start(self._load_today(), "load_today")

    async def _load_today(self) -> None:
        found = await self._ctx.kiosk.search(since=start_of_day(utcnow()), limit=100)
        self.sales.model.replace_all(found)
        newest = self.sales.model.newest()
        if newest is not None and self.panel.sale is None and self.panel.idle:
            self.panel.open(newest)

    @property
    def following(self) -> bool:
        """Whether a new sale may take the panel: the cashier is idle on the newest live sale (or on
        none) and the pointer is not over the list."""
        shown = self.panel.sale
        on_newest = shown is None or shown.receipt_id == self.sales.model.newest()
        return self.sales.live and on_newest and self.panel.idle and not self.sales.pointer_over

    @property
    def waiting(self) -> int:
        """How many new sales wait for the cashier ("N new")."""
        return len(self._waiting)

    def add_sale(self, sale: KioskSale) -> None:
        """A new sale arrived: list it; show it only while `following`, else count it as waiting."""
        following = self.following
        self.sales.put(sale)
        if following:
            self.panel.show_sale(sale)
        elif sale.receipt_id not in self._waiting:
            self._waiting.append(sale.receipt_id)
            self.sales.show_waiting(len(self._waiting))

    def show_newest(self) -> None:
        """Go to the newest sale (the "N new" button): back to today's live list first if searching."""
        self.tasks.start(self._show_newest(), "show_newest")

    async def _show_newest(self) -> None:
        if not self.sales.live:
            await self.sales.reload_today()
        newest = self.sales.model.newest()
        if newest is not None:
            self.panel.show_sale(await self._ctx.kiosk.sale(newest))
        self.sales.table.scrollToBottom()

    def _shown(self, receipt_id: str | None) -> None:
        """The panel shows another sale: highlight its row; it (or, for the newest, every sale) no longer waits."""
        self.sales.select(receipt_id)
        if receipt_id in self._waiting:
            self._waiting.remove(receipt_id)
        if receipt_id is not None and receipt_id == self.sales.model.newest():
            self._waiting.clear()
        self.sales.show_waiting(len(self._waiting))

    def _highlight_shown(self) -> None:
        self.sales.select(self.panel.sale.receipt_id if self.panel.sale is not None else None)

    def refresh_sale(self, sale: KioskSale, decision: ReceiptChoice | None = None) -> None:
        """A sale changed elsewhere (the customer chose): refresh its row, and the panel if it shows it.
        A choice made on the customer screen deals with the sale's failures as the cashier's would."""
        self.sales.put(sale, decision)
        if decision is not None:
            self.alerts.clear_receipt(sale.receipt_id)
        if self.panel.sale is not None and self.panel.sale.receipt_id == sale.receipt_id:
            self.panel.show_sale(sale)

    def update_delivery(self, event: DeliveryChanged) -> None:
        """Live delivery state for the list and the panel; a failure raises an alert."""
        self.sales.update_delivery(event)
        self.panel.update_delivery(event)
        if event.state in RETRYABLE:
            self.tasks.start(self._alert(event), "alert")
        else:
            self.alerts.delivery_moved(event.delivery_id, event.state)

    async def _alert(self, event: DeliveryChanged) -> None:
        sale = await self._ctx.kiosk.sale(event.receipt_id)
        delivery = next((d for d in sale.deliveries if d.id == event.delivery_id), None)
        if delivery is None or delivery.state not in RETRYABLE:  # sent again while the sale was read
            return
        self.alerts.raise_alert(
            FailureAlert(
                delivery.id, sale.receipt_id, sale.sale_id, delivery.channel, delivery.masked_recipient,
                delivery.state, event.error or delivery.last_error,
            )
        )  # fmt: skip

    async def _retry(self, alert: FailureAlert) -> None:
        await self._ctx.receipts.retry([alert.delivery_id], actor="kiosk-cashier")
        self.alerts.dismiss(alert)
        if self.panel.sale is not None and self.panel.sale.receipt_id == alert.receipt_id:
            self.panel.show_sale(await self._ctx.kiosk.sale(alert.receipt_id))

    async def _switch(self, alert: FailureAlert) -> None:
        """The failed delivery's sale in the panel, the other channel chosen, the cursor in its field."""
        sale = await self._ctx.kiosk.sale(alert.receipt_id)
        if self.panel.sale is None or self.panel.sale.receipt_id != sale.receipt_id:
            self.panel.show_sale(sale)
        delivery = next((d for d in sale.deliveries if d.id == alert.delivery_id), None)
        self.panel.switch_channel(delivery)

    async def scanned(self, scan: Scan) -> None:
        """A loyalty card identifies the customer of the sale at hand; a paper receipt opens its sale to resend."""
        if scan.kind is ScanKind.LOYALTY:
            await self.panel.identify_loyalty(scan.value)
        elif scan.kind is ScanKind.RECEIPT:
            sale = await self._ctx.kiosk.sale_by_sale_id(scan.value)
            self.sales.put(sale)
            self.sales.select(sale.receipt_id)
            self.panel.show_for_resend(sale)

    def _sent(self, outcome: SendOutcome) -> None:
        self.alerts.clear_receipt(outcome.receipt_id)
        if self.panel.sale is not None:
            self.sales.put(self.panel.sale, outcome.choice)
        self.sig_sent.emit(outcome)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.sig_closed.emit()
