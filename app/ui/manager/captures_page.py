"""Receipts read from the legacy POS's print stream: the held ones wait here for a manager."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.capture import CaptureRecord, CaptureState
from app.services.capture import CaptureService
from app.ui.formatting import clock_time
from app.ui.tasks import TaskOwner, action, busy

COLUMNS = ("Time", "State", "Sale", "Reason")


class CapturesPage(QWidget):
    """A list of captures (held first by default), the chosen one's scrubbed text, release / discard."""

    def __init__(
        self, capture: CaptureService, tasks: TaskOwner, *, actor: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._capture = capture
        self._actor = actor  # the manager signed in, named in the audit log
        self.tasks = tasks
        self.rows: list[CaptureRecord] = []
        self.state = QComboBox()
        self.state.setAccessibleName("Capture state")
        for state in (CaptureState.HELD, CaptureState.UNPARSED, CaptureState.SENT):
            self.state.addItem(state.value.title(), state.value)
        self.state.addItem("All", "")
        self.state.currentIndexChanged.connect(lambda _index: self.refresh())
        refresh = QPushButton("Re&fresh")
        refresh.clicked.connect(self.refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._chosen)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Captured receipt text")
        self.release_button = QPushButton("&Release and send")
        self.release_button.setToolTip("Only after checking the text holds no card number, expiry or track data.")
        self.release_button.clicked.connect(self.release)
        self.discard_button = QPushButton("&Discard")
        self.discard_button.clicked.connect(self.discard)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.state)
        top.addStretch(1)
        top.addWidget(refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.release_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        self._chosen()

    def selected(self) -> CaptureRecord | None:
        index = self.table.currentRow()
        return self.rows[index] if 0 <= index < len(self.rows) and self.table.selectedItems() else None

    @action
    async def refresh(self) -> None:
        """Load the captures in the chosen state."""
        await self.load()

    async def load(self) -> None:
        value = self.state.currentData()
        self.rows = await self._capture.list_captures(CaptureState(value) if value else None)
        self.table.setRowCount(len(self.rows))
        for row, record in enumerate(self.rows):
            cells = (clock_time(record.captured_at), record.state.value, record.sale_id or "", record.reason or "")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.text.setPlainText("")
        self._chosen()

    def _chosen(self) -> None:
        record = self.selected()
        self.text.setPlainText(record.text if record else "")
        self.release_button.setEnabled(record is not None and record.state is CaptureState.HELD)
        self.discard_button.setEnabled(record is not None and record.state is not CaptureState.SENT)

    @action
    async def release(self) -> None:
        """Send the chosen held capture as a receipt."""
        record = self.selected()
        if record is None:
            return
        with busy(self.release_button, self.discard_button):
            outcome = await self._capture.release(record.id, actor=self._actor())
        self.status.setText(f"Sent as receipt {outcome.capture.receipt_id}." if outcome.capture.receipt_id else "")
        await self.load()

    @action
    async def discard(self) -> None:
        """Delete the chosen held or unparsed capture."""
        record = self.selected()
        if record is None:
            return
        with busy(self.release_button, self.discard_button):
            await self._capture.discard(record.id, actor=self._actor())
        self.status.setText("Discarded.")
        await self.load()
