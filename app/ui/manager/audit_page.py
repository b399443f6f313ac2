"""Check the tamper-evident audit log end to end."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui import theme
from app.ui.context import KioskContext
from app.ui.tasks import TaskOwner, action, busy


class AuditPage(QWidget):
    """One button and its verdict."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        intro = QLabel(
            "Every receipt, delivery attempt, resend, retry, export, settings change and manager sign-in "
            "is logged with who did it, in a hash chain: any edit or deletion breaks it. Checking reads "
            "the whole log; `receiptdesk audit show` lists it."
        )
        intro.setWordWrap(True)
        self.check_button = QPushButton("&Check the audit log")
        self.check_button.clicked.connect(self.check)
        self.verdict = QLabel("")
        self.verdict.setAccessibleName("Audit verdict")
        self.verdict.setWordWrap(True)
        theme.set_font(self.verdict, 1.2, bold=True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.check_button)
        layout.addWidget(self.verdict)
        layout.addStretch(1)

    @action
    async def check(self) -> None:
        """Verify the chain and say what was found."""
        self.verdict.setText("Checking\u2026")
        with busy(self.check_button):
            report = await self._ctx.receipts.verify_audit()
        if report.ok:
            self.verdict.setText(f"Intact: {report.entries:,} entries, chain verified.")
            self.verdict.setProperty("hint", "good")
        else:
            self.verdict.setText(
                f"Broken at entry {report.first_bad_seq}: {report.problem} "
                f"({report.entries:,} entries verified before it). Change nothing and call support."
            )
            self.verdict.setProperty("hint", "bad")
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
