"""A live list of one receipt's deliveries: channel, recipient (masked), state, attempts, error."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from app.domain.delivery import DeliveryState
from app.services.kiosk import DeliveryView
from app.ui import theme
from app.ui.formatting import channel_word, nowrap, state_word

COLUMNS = ("Channel", "To", "State", "Tries", "Problem")
PROBLEM = 4


class DeliveryTable(QTableWidget):
    """Rows keyed by delivery id; `update_state` moves one row on as `DeliveryChanged` arrives."""

    sig_selection = Signal(object)
    """Fires with the selected `DeliveryView` (or None) when the selection changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setAccessibleName("Deliveries of this receipt")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PROBLEM, QHeaderView.ResizeMode.Stretch)  # cut short; the tooltip has it all
        header.setMinimumSectionSize(1)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)  # a narrow "Problem" reads "Prob…", never "robler"
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setTabKeyNavigation(False)
        self._rows: list[DeliveryView] = []
        self._early: dict[str, tuple[DeliveryState, str | None]] = {}
        """States of deliveries not shown yet: a send can go out before its result lists the deliveries."""
        self.itemSelectionChanged.connect(lambda: self.sig_selection.emit(self.selected()))

    @property
    def deliveries(self) -> tuple[DeliveryView, ...]:
        """The deliveries shown, with their latest states."""
        return tuple(self._rows)

    def set_deliveries(self, deliveries: tuple[DeliveryView, ...]) -> None:
        """Show these deliveries (replacing the list), moved on by any state that arrived before them."""
        early, self._early = self._early, {}
        self._rows = [
            replace(d, state=early[d.id][0], last_error=early[d.id][1])
            if d.id in early and d.state in (DeliveryState.QUEUED, DeliveryState.SENDING)
            else d
            for d in deliveries
        ]
        self.setRowCount(len(self._rows))
        for row, delivery in enumerate(self._rows):
            self._fill(row, delivery)
        self.sig_selection.emit(self.selected())

    def expect(self, delivery_id: str, state: DeliveryState, error: str | None) -> None:
        """Keep `state` for a delivery of the sale shown that is not listed yet (`set_deliveries` applies it)."""
        if len(self._early) < 64:
            self._early[delivery_id] = (state, error)

    def update_state(
        self, delivery_id: str, state: DeliveryState, error: str | None, attempt: int | None = None
    ) -> bool:
        """Move one delivery to `state` (after its attempt number `attempt`, if one was made); False when it is
        not shown here. A provider's report (delivered, bounced) is no attempt and counts no try."""
        for row, delivery in enumerate(self._rows):
            if delivery.id == delivery_id:
                tries = max(delivery.attempts, attempt or 0)
                self._rows[row] = replace(delivery, state=state, last_error=error, attempts=tries)
                self._fill(row, self._rows[row])
                if self.currentRow() == row:
                    self.sig_selection.emit(self._rows[row])
                return True
        return False

    def selected(self) -> DeliveryView | None:
        """The selected delivery, if any."""
        row = self.currentRow()
        return self._rows[row] if 0 <= row < len(self._rows) and self.selectionModel().hasSelection() else None

    def _fill(self, row: int, d: DeliveryView) -> None:
        values = (
            channel_word(d.channel),
            nowrap(d.masked_recipient),
            state_word(d.state),
            str(d.attempts),
            d.last_error or "",
        )
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if column == 2:
                theme.colour_item(item, d.state.value)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)
