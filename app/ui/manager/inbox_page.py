"""Texts customers sent the store's number that no keyword answered: they wait here for a manager.

A sender is shown masked; "Show number" reveals it for a call back (audited). "Mark handled" takes
the text off the list; "Show handled" brings the handled ones back for reference until retention
purges them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.inbound_texts import InboundTextService, InboxText
from app.ui.formatting import clock_time
from app.ui.manager.when import all_today, moment
from app.ui.tasks import TaskOwner, action, busy

COLUMNS = ("Time", "From", "Text", "Handled")


class InboxPage(QWidget):
    """The texts for the manager, newest first; reveal a sender, mark a text handled."""

    def __init__(
        self,
        inbound: InboundTextService,
        tasks: TaskOwner,
        *,
        actor: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._inbound = inbound
        self._actor = actor  # the manager signed in, named in the audit log
        self.tasks = tasks
        self.rows: list[InboxText] = []
        intro = QLabel(
            "Texts customers sent the store's number. STOP, START, HELP and receipt codes are answered "
            "automatically and are not listed; these got no answer."
        )
        intro.setWordWrap(True)
        self.handled = QCheckBox("Show &handled")
        self.handled.toggled.connect(lambda _on: self.refresh())
        refresh = QPushButton("Re&fresh")
        refresh.clicked.connect(self.refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Texts for the manager")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._chosen)
        self.reveal_button = QPushButton("Show &number")
        self.reveal_button.setToolTip("Shows the full number to call the customer back; the audit log records it.")
        self.reveal_button.clicked.connect(self.reveal)
        self.done_button = QPushButton("&Mark handled")
        self.done_button.clicked.connect(self.mark_handled)
        self.status = QLabel("")
        self.status.setAccessibleName("Inbox status")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(intro, 1)
        top.addWidget(self.handled)
        top.addWidget(refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._chosen()

    def selected(self) -> InboxText | None:
        index = self.table.currentRow()
        return self.rows[index] if 0 <= index < len(self.rows) and self.table.selectedItems() else None

    @action
    async def refresh(self) -> None:
        """Load the texts waiting (and the handled ones, when shown)."""
        await self.load()

    async def load(self) -> None:
        self.rows = await self._inbound.inbox(include_handled=self.handled.isChecked())
        today = all_today(text.received_at for text in self.rows)
        self.table.setRowCount(len(self.rows))
        for row, text in enumerate(self.rows):
            when = clock_time(text.received_at) if today else moment(text.received_at)
            done = f"{text.handled_by or ''} {clock_time(text.handled_at)}".strip() if text.handled_at else ""
            for column, value in enumerate((when, text.sender, text.body, done)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeRowsToContents()
        self.status.setText("" if self.rows else "No texts wait for you.")
        self._chosen()

    def _chosen(self) -> None:
        text = self.selected()
        self.reveal_button.setEnabled(text is not None)
        self.done_button.setEnabled(text is not None and text.handled_at is None)

    @action
    async def reveal(self) -> None:
        """Show the chosen text's full number in its row."""
        text = self.selected()
        if text is None:
            return
        row = self.table.currentRow()
        with busy(self.reveal_button):
            number = await self._inbound.reveal(text.id, actor=self._actor())
        self.table.setItem(row, 1, QTableWidgetItem(number))
        self.status.setText(f"Call back on {number}.")

    @action
    async def mark_handled(self) -> None:
        """Take the chosen text off the list."""
        text = self.selected()
        if text is None:
            return
        with busy(self.reveal_button, self.done_button):
            await self._inbound.mark_handled(text.id, actor=self._actor())
        await self.load()
        self.status.setText("Marked handled.")
