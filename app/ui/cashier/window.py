"""The cashier's window: sales on the left, the sale at hand on the right, status at the bottom."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.domain.barcodes import Scan, ScanKind
from app.domain.clock import utcnow
from app.services.bus import DeliveryChanged
from app.services.kiosk import KioskSale, ReceiptChoice, SendOutcome, start_of_day
from app.ui import theme
from app.ui.cashier.sale_list import SaleList
from app.ui.cashier.sale_panel import SalePanel
from app.ui.context import KioskContext
from app.ui.errors import ErrorBanner
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
        self.sales.sig_open.connect(self.panel.open)
        self.panel.sig_sent.connect(self._sent)
        self.panel.sig_offer.connect(self.sig_offer)
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
        top.addWidget(customer)
        top.addWidget(manager)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.sales)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setChildrenCollapsible(False)
        line = self.fontMetrics().height()
        splitter.setSizes([line * 22, line * 58])
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(body)
        self.status_panel = StatusPanel(monitor)
        self.statusBar().addWidget(self.status_panel, 1)
        QShortcut(QKeySequence("Ctrl+F"), self, self._find)
        QShortcut(QKeySequence("Ctrl+M"), self, self.sig_manager.emit)
        QShortcut(QKeySequence("Ctrl+U"), self, self.sig_customer_screen.emit)
        self.resize(1366, 800)

    def _find(self) -> None:
        self.sales.search_box.setFocus()
        self.sales.search_box.selectAll()

    def load_today(self) -> None:
        """Fill the list with today's sales."""
        self.tasks.start(self._load_today(), "load_today")

    async def _load_today(self) -> None:
        found = await self._ctx.kiosk.search(since=start_of_day(utcnow()), limit=100)
        self.sales.model.replace_all(found)
        if found and self.panel.sale is None:
            self.sales.table.selectRow(0)

    def add_sale(self, sale: KioskSale) -> None:
        """A new sale arrived: list it, and show it unless the cashier is busy with another one."""
        self.sales.put(sale)
        if not self.panel.busy:
            self.panel.show_sale(sale)
            self.sales.select(sale.receipt_id)

    def refresh_sale(self, sale: KioskSale, decision: ReceiptChoice | None = None) -> None:
        """A sale changed elsewhere (the customer chose): refresh its row, and the panel if it shows it."""
        self.sales.put(sale, decision)
        if self.panel.sale is not None and self.panel.sale.receipt_id == sale.receipt_id:
            self.panel.show_sale(sale)

    def update_delivery(self, event: DeliveryChanged) -> None:
        """Live delivery state for the list and the panel."""
        self.sales.update_delivery(event)
        self.panel.update_delivery(event)

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
        if self.panel.sale is not None:
            self.sales.put(self.panel.sale, outcome.choice)
        self.sig_sent.emit(outcome)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.sig_closed.emit()
