"""The manager's window: name and PIN first, then receipts, export, audit and health; locks when closed.

Whoever unlocked it is the actor of every action taken until it locks again (`KioskContext.actor`).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.bus import DeliveryChanged
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.errors import ErrorBanner
from app.ui.manager.audit_page import AuditPage
from app.ui.manager.captures_page import CapturesPage
from app.ui.manager.customers_page import CustomersPage
from app.ui.manager.export_page import ExportPage
from app.ui.manager.health_page import HealthPage
from app.ui.manager.inbox_page import InboxPage
from app.ui.manager.pin_page import PinPage
from app.ui.manager.receipts_page import ReceiptsPage
from app.ui.manager.records_page import RecordsPage
from app.ui.manager.store_page import StorePage, hub_client
from app.ui.status import HealthMonitor, StatusPanel
from app.ui.tasks import TaskOwner

IDLE_LOCK_MS = 3 * 60 * 1000
"""Unlocked and untouched this long, the manager window locks itself."""


class ManagerWindow(QMainWindow):
    """Everything here is behind a manager's name and PIN."""

    sig_locked = Signal()
    """Fires when the window locked (Lock, closed, or idle too long): close what it opened."""

    sig_settings = Signal()
    """Fires when the manager asks for the settings window."""

    def __init__(self, ctx: KioskContext, monitor: HealthMonitor) -> None:
        super().__init__()
        self._ctx = ctx
        self.tasks = TaskOwner(self, "manager")
        self.setWindowTitle("ReceiptDesk \u2014 Manager")
        self.setAccessibleName("Manager")
        self.banner = ErrorBanner()
        self.pin = PinPage(ctx, self.tasks)
        self.pin.sig_unlocked.connect(self._unlocked)
        self.receipts = ReceiptsPage(ctx, self.tasks)
        self.export = ExportPage(ctx, self.tasks)
        self.audit = AuditPage(ctx, self.tasks)
        self.health = HealthPage(ctx, monitor, self.tasks)
        self.health.held.sig_decided.connect(self.receipts.search)  # the receipts' states moved on too
        self.tabs = QTabWidget()
        self.tabs.addTab(self.receipts, "&Receipts")
        self.tabs.addTab(self.export, "E&xport")
        self.tabs.addTab(self.audit, "A&udit")
        self.tabs.addTab(self.health, "&Health")
        if ctx.retention is not None:  # retention periods, the last purge, legal holds
            self.tabs.addTab(RecordsPage(ctx.retention, self.tasks, actor=lambda: ctx.actor), "Recor&ds")
        if ctx.capture is not None and ctx.settings.capture.enabled:  # print-stream capture is set up
            self.tabs.addTab(CapturesPage(ctx.capture, self.tasks, actor=lambda: ctx.actor), "Ca&ptures")
        self.customers = (
            CustomersPage(ctx.customers, ctx.consent, self.tasks, actor=lambda: ctx.actor, export_dir=ctx.export_dir)
            if ctx.customers is not None
            else None
        )
        if self.customers is not None:  # a customer's rights: find, export, stop, forget
            self.tabs.addTab(self.customers, "Customer&s")
            self.customers.sig_forgotten.connect(self.receipts.search)  # their receipts lost their contacts
        self.inbox = InboxPage(ctx.inbound_texts, self.tasks, actor=lambda: ctx.actor) if ctx.inbound_texts else None
        if self.inbox is not None:  # customers' texts to the store's number
            self.tabs.addTab(self.inbox, "&Inbox")
        self.store = (
            StorePage(hub_client(ctx.settings.hub.url), self.tasks, actor=lambda: ctx.actor)
            if ctx.settings.hub.url
            else None
        )
        if self.store is not None:  # the whole store's day, from this lane's hub
            self.tabs.addTab(self.store, "S&tore")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.title = QLabel("Manager")
        self.title.setAccessibleName("Signed in")
        theme.set_font(self.title, 1.5, bold=True)
        settings = QPushButton("S&ettings\u2026")
        settings.clicked.connect(self.sig_settings)
        lock = QPushButton("&Lock")
        lock.clicked.connect(self.lock)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(settings)
        top.addWidget(lock)
        inside = QWidget()
        inside_layout = QVBoxLayout(inside)
        inside_layout.setContentsMargins(0, 0, 0, 0)
        inside_layout.addLayout(top)
        inside_layout.addWidget(self.tabs, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.pin)
        self.pages.addWidget(inside)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(body)
        self.statusBar().addWidget(StatusPanel(monitor), 1)
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(IDLE_LOCK_MS)
        self.idle.timeout.connect(self.lock)
        for button in self.findChildren(QAbstractButton):
            button.pressed.connect(self._touched)
        for field in self.findChildren(QLineEdit):
            field.textEdited.connect(self._touched)
        self.resize(1280, 820)

    @property
    def unlocked(self) -> bool:
        """Whether a manager signed in since the last lock."""
        return self.pages.currentIndex() == 1

    def open(self) -> None:
        """Show the window, locked."""
        self.lock()
        self.show()
        self.raise_()
        self.activateWindow()

    def lock(self) -> None:
        """Back to the PIN page."""
        self.idle.stop()
        self.banner.dismiss()
        self.receipts.detail.asker.withdraw()  # a question left on the customer screen goes with the manager
        self._ctx.signed_in = None
        self.title.setText("Manager")
        self.pages.setCurrentIndex(0)
        self.pin.start()
        self.sig_locked.emit()

    def _touched(self, *_args: object) -> None:
        if self.unlocked:
            self.idle.start()

    def _unlocked(self, name: str) -> None:
        self._ctx.signed_in = name
        self.title.setText(f"Manager: {name}")
        self.banner.dismiss()
        self.pin.stop()
        self.idle.start()
        self.pages.setCurrentIndex(1)
        self.tabs.setCurrentIndex(0)
        self.receipts.search()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.health:
            self.tasks.start(self.health.refresh_chart(), "chart")
        elif self.inbox is not None and self.tabs.widget(index) is self.inbox:
            self.tasks.start(self.inbox.load(), "inbox")
        elif self.store is not None and self.tabs.widget(index) is self.store:
            self.tasks.start(self.store.reload(), "store")

    def update_delivery(self, event: DeliveryChanged) -> None:
        """Live updates for the receipt shown."""
        if self.unlocked:
            self.receipts.update_delivery(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.lock()
        self.pin.stop()
        self.idle.stop()
        super().closeEvent(event)
