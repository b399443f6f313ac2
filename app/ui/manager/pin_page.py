"""The manager's door: who you are and your PIN, with a keypad; wrong PINs lock a name for a while."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.domain.pins import describe_wait
from app.services.kiosk import AccessDenied
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.errors import describe_error, error_feed, show_error
from app.ui.tasks import TaskOwner, busy
from app.ui.widgets.keypad import Keypad

NO_MANAGERS = "No manager is set up yet: add one with `receiptdesk managers add NAME` on this computer."


class PinPage(QWidget):
    """Choose your name, type your PIN (keyboard or keypad) and press Enter."""

    sig_unlocked = Signal(str)
    """Fires with the manager's name when their right PIN was entered."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.checking = False
        self._locked_until: datetime | None = None
        self._refusals: list[str] = []  # what was shown since the last sign-in
        title = QLabel("Manager sign-in")
        theme.set_font(title, 1.8, bold=True)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.who = QComboBox()
        self.who.setAccessibleName("Manager")
        self.who.setPlaceholderText("Who are you?")
        theme.set_font(self.who, 1.6)
        self.who.view().setFont(theme.font(1.6))
        self.who.setMinimumHeight(int(self.who.fontMetrics().height() * 2.0))
        self.who.currentIndexChanged.connect(self._chosen)
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
        self.state.setWordWrap(True)
        self.state.setProperty("hint", "bad")
        self.hint = QLabel(f"Demo: {ctx.demo_manager[0]}, PIN {ctx.demo_manager[1]}" if ctx.demo_manager else "")
        self.hint.setProperty("muted", True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pad = Keypad(self.field, factor=1.4)
        who_label = QLabel("&Who are you?")
        who_label.setBuddy(self.who)
        pin_label = QLabel("Your &PIN")
        pin_label.setBuddy(self.field)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(who_label)
        column.addWidget(self.who)
        column.addWidget(pin_label)
        column.addWidget(self.field)
        column.addWidget(self.state)
        column.addWidget(self.pad)
        column.addWidget(self.unlock_button)
        column.addWidget(self.hint)
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(column, 2)
        layout.addStretch(1)
        self.countdown = QTimer(self)
        self.countdown.setInterval(1000)
        self.countdown.timeout.connect(self._tick)

    @property
    def name(self) -> str:
        """The manager chosen ('' when none is)."""
        return self.who.currentText() if self.who.currentIndex() >= 0 else ""

    def start(self) -> None:
        """Empty PIN, the managers listed afresh, cursor in the PIN."""
        self.field.clear()
        self.field.setFocus()
        self.tasks.start(self.load_names(), "managers")

    def stop(self) -> None:
        """Stop the lockout countdown."""
        self.countdown.stop()

    async def load_names(self) -> None:
        """List the managers (keeping the one chosen), then show whether that one is locked."""
        names = await self._ctx.manager_lock.names()
        chosen = self.name
        self.who.blockSignals(True)
        self.who.clear()
        self.who.addItems(names)
        self.who.setCurrentIndex(names.index(chosen) if chosen in names else (0 if len(names) == 1 else -1))
        self.who.blockSignals(False)
        self.who.setEnabled(bool(names))
        await self.refresh_lock()

    def _chosen(self, _index: int) -> None:
        self.field.clear()
        self.tasks.start(self.refresh_lock(), "lockout")

    async def refresh_lock(self) -> None:
        """Ask whether the manager chosen is locked, and show it."""
        name = self.name
        self._locked_until = await self._ctx.manager_lock.locked_until(name) if name else None
        self._tick()

    def unlock(self) -> None:
        """Check the PIN typed for the manager chosen."""
        name, pin = self.name, self.field.text()
        self.field.clear()
        if self.checking or not pin:
            return
        if not name:
            show_error(AccessDenied("Choose your name first, then type your PIN."), self)
            return
        self.checking = True
        self.tasks.start(self._try(name, pin), "unlock")

    async def _try(self, name: str, pin: str) -> None:
        try:
            with busy(self.unlock_button, self.field):
                await self._ctx.manager_lock.unlock(name, pin)
        except AccessDenied as denied:
            self._locked_until = denied.locked_until
            self._tick()
            show_error(denied, self)
            self._refusals.append(describe_error(denied))
            return
        finally:
            self.checking = False
        self._locked_until = None
        for message in self._refusals:  # signed in: the refusals shown on the way are no status any more
            error_feed().sig_resolved.emit(message)
        self._refusals.clear()
        self.sig_unlocked.emit(name)

    def _tick(self) -> None:
        until = self._locked_until
        wait = (until - self._ctx.manager_lock.now()).total_seconds() if until is not None else 0.0
        locked = wait > 0
        ready = not locked and bool(self.name)
        self.unlock_button.setEnabled(ready)
        self.field.setEnabled(ready)
        if locked:
            self.state.setText(f"{self.name} is locked for {describe_wait(wait)} after too many wrong PINs.")
            if not self.countdown.isActive():
                self.countdown.start()
            return
        self._locked_until = None
        self.countdown.stop()
        self.state.setText("" if self.who.count() else NO_MANAGERS)
        if ready:
            self.field.setFocus()
