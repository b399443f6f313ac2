"""The manager's door: a PIN with a keypad; five wrong PINs lock it for a minute."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.services.kiosk import AccessDenied
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.errors import show_error
from app.ui.tasks import TaskOwner
from app.ui.widgets.keypad import Keypad


class PinPage(QWidget):
    """Type the PIN (keyboard or keypad) and press Enter."""

    sig_unlocked = Signal()
    """Fires when the right PIN was entered."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        title = QLabel("Manager sign-in")
        theme.set_font(title, 1.8, bold=True)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setAccessibleName("Manager PIN")
        self.field.setPlaceholderText("PIN")
        self.field.setMaxLength(12)
        self.field.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.field, 2.0)
        self.field.returnPressed.connect(self.unlock)
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setProperty("primary", True)
        theme.touch_target(self.unlock_button, 2.2)
        self.unlock_button.clicked.connect(self.unlock)
        self.state = QLabel()
        self.state.setAccessibleName("Sign-in status")
        self.state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state.setProperty("hint", "bad")
        hint = QLabel("Demo PIN: 1234" if ctx.demo else "")
        hint.setProperty("muted", True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pad = Keypad(self.field, factor=1.4)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(self.field)
        column.addWidget(self.state)
        column.addWidget(self.pad)
        column.addWidget(self.unlock_button)
        column.addWidget(hint)
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(column, 2)
        layout.addStretch(1)
        self.countdown = QTimer(self)
        self.countdown.setInterval(1000)
        self.countdown.timeout.connect(self._tick)

    def start(self) -> None:
        """Empty field, cursor in it."""
        self.field.clear()
        self.field.setFocus()
        self._tick()

    def stop(self) -> None:
        """Stop the lockout countdown."""
        self.countdown.stop()

    def unlock(self) -> None:
        """Check the PIN typed."""
        pin = self.field.text()
        self.field.clear()
        lock = self._ctx.manager_lock
        try:
            lock.check(pin)
        except AccessDenied as denied:
            if lock.locked_for() > 0:
                self.tasks.start(self._ctx.kiosk.record("kiosk-manager", "manager.locked_out", "manager", {}), "audit")
            self._tick()
            show_error(denied, self)
            return
        self.tasks.start(self._ctx.kiosk.record("kiosk-manager", "manager.signed_in", "manager", {}), "audit")
        self.sig_unlocked.emit()

    def _tick(self) -> None:
        wait = self._ctx.manager_lock.locked_for()
        locked = wait > 0
        self.unlock_button.setEnabled(not locked)
        self.field.setEnabled(not locked)
        if locked:
            self.state.setText(f"Locked after too many wrong PINs. Try again in {int(wait + 0.999)} s.")
            if not self.countdown.isActive():
                self.countdown.start()
        else:
            self.state.setText(
                ""
                if self._ctx.manager_lock.configured
                else "No manager PIN is set up: `receiptdesk secrets set kiosk manager_pin`."
            )
            self.countdown.stop()
            self.field.setFocus()
