"""Export a date range of receipts to CSV, with a progress bar; the work runs off the UI thread."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.context import KioskContext
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.dates import DayRange


class ExportPage(QWidget):
    """From, to, where; Export; a progress bar and what was written."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.days = DayRange(what="Export")
        self.first, self.last = self.days.first, self.days.last
        self.path = QLineEdit()
        self.path.setAccessibleName("Export file")
        self.first.dateChanged.connect(lambda _d: self._default_path())
        self.last.dateChanged.connect(lambda _d: self._default_path())
        browse = QPushButton("&Browse\u2026")
        browse.clicked.connect(self._browse)
        self.export_button = QPushButton("&Export")
        self.export_button.setProperty("primary", True)
        self.export_button.clicked.connect(self.export)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Export progress")
        self.progress.setValue(0)
        # The percentage is written beside the bar, on the page's paper: drawn over the filled bar its
        # dark text fell to 2.5:1 against the accent colour (WCAG AA needs 4.5:1).
        self.progress.setTextVisible(False)
        self.result = QLabel("Receipts of the chosen days, one line per delivery; contacts are masked.")
        self.result.setWordWrap(True)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("&From", self.first)
        form.addRow("&To", self.last)
        form.addRow("File", where)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.export_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addStretch(1)
        self._dialog: QFileDialog | None = None
        self._default_path()

    def _default_path(self) -> None:
        first, last = self.first.date().toString("yyyy-MM-dd"), self.last.date().toString("yyyy-MM-dd")
        name = f"receipts-{first}.csv" if first == last else f"receipts-{first}-to-{last}.csv"
        self.path.setText(str(self._ctx.export_dir / name))

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Export receipts to", self.path.text(), "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.path.setText)
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()

    def target(self) -> Path:
        """The file chosen (`~` expanded)."""
        return Path(os.path.expanduser(self.path.text().strip()))

    def _progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        share = done * 100 // max(total, 1)
        self.progress.setAccessibleDescription(f"{share}%")
        self.result.setText(f"Exported {done:,} of {total:,} receipts ({share}%)\u2026")

    @action
    async def export(self) -> None:
        """Write the chosen days' receipts to the file."""
        since, until = self.days.moments()
        self.progress.setValue(0)
        with busy(self.export_button):
            done = await self._ctx.kiosk.export_csv(
                self.target(), since=since, until=until, actor=self._ctx.actor, progress=self._progress
            )
        self.progress.setMaximum(max(done.receipts, 1))
        self.progress.setValue(max(done.receipts, 1))
        self.progress.setAccessibleDescription("100%")
        self.result.setText(f"Exported {done.receipts:,} receipts ({done.rows:,} lines) to {done.path}. 100% done.")
