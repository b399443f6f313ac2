"""This kiosk: which screen faces the customer, how long it waits, and the manager PIN."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.domain.errors import ValidationFailed
from app.ui.prefs import SAME_SCREEN, KioskPrefs


def screen_choices() -> list[tuple[int, str]]:
    """`(index, label)` for every screen, after 'same screen, in turn'."""
    choices = [(SAME_SCREEN, "Same screen as the cashier, in turn")]
    for index, screen in enumerate(QGuiApplication.screens()):
        size = screen.size()
        choices.append((index, f"Screen {index + 1}: {screen.name()} ({size.width()}\u00d7{size.height()})"))
    return choices


class KioskPage(QWidget):
    """Customer screen, idle timeout, manager PIN."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        pin_label: str = "New manager &PIN",
        pin_note: str = "The PIN is stored in the keyring, like provider credentials.",
    ) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # rows keep their natural height
        self.screen_choice = QComboBox()
        self.screen_choice.setAccessibleName("Customer screen")
        for index, label in screen_choices():
            self.screen_choice.addItem(label, index)
        form.addRow("&Customer screen", self.screen_choice)
        self.idle = QDoubleSpinBox()
        self.idle.setRange(10, 600)
        self.idle.setSuffix(" s")
        self.idle.setDecimals(0)
        self.idle.setAccessibleName("Customer screen starts over after")
        form.addRow("Customer screen starts over &after", self.idle)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAccessibleName("New manager PIN")
        self.pin.setPlaceholderText("leave empty to keep the current PIN")
        self.pin_again = QLineEdit()
        self.pin_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_again.setAccessibleName("New manager PIN again")
        form.addRow(pin_label, self.pin)
        form.addRow("New PIN a&gain", self.pin_again)
        note = QLabel(pin_note)
        note.setWordWrap(True)
        note.setProperty("muted", True)
        form.addRow(note)

    def load(self, prefs: KioskPrefs) -> None:
        """Show `prefs`; PIN fields start empty."""
        self.screen_choice.setCurrentIndex(max(0, self.screen_choice.findData(prefs.customer_screen)))
        self.idle.setValue(prefs.idle_timeout_s)
        self.pin.clear()
        self.pin_again.clear()

    def values(self, prefs: KioskPrefs) -> KioskPrefs:
        """`prefs` with this page's changes."""
        return prefs.with_changes(
            customer_screen=int(self.screen_choice.currentData()), idle_timeout_s=float(self.idle.value())
        )

    def new_pin(self) -> str | None:
        """The new PIN typed (checked), or None to keep the current one."""
        pin, again = self.pin.text(), self.pin_again.text()
        if not pin and not again:
            return None
        if pin != again:
            raise ValidationFailed("The two new PINs differ; type the same PIN twice.", field="pin")
        if not pin.isdigit() or not 4 <= len(pin) <= 12:
            raise ValidationFailed("A manager PIN is 4 to 12 digits.", field="pin")
        return pin
