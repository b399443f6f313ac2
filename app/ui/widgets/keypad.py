"""A big digit keypad, for phone numbers and the manager PIN."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLineEdit, QPushButton, QWidget

from app.domain.channels import Language
from app.ui.i18n import tr
from app.ui.widgets.keyboard import key_button


class Keypad(QWidget):
    """Digits 0-9, delete and clear, typing into `target`."""

    def __init__(self, target: QLineEdit, parent: QWidget | None = None, *, factor: float = 1.6) -> None:
        super().__init__(parent)
        self._target = target
        grid = QGridLayout(self)
        grid.setSpacing(8)
        self.keys: dict[str, QPushButton] = {}
        for index, digit in enumerate("123456789"):
            self._digit(grid, digit, index // 3, index % 3, factor)
        self.clear = key_button("", factor=1.1)
        self.clear.setAutoRepeat(False)
        self.clear.clicked.connect(self._target.clear)
        grid.addWidget(self.clear, 3, 0)
        self._digit(grid, "0", 3, 1, factor)
        self.backspace = key_button("\u232b", factor=factor)
        self.backspace.clicked.connect(self._target.backspace)
        grid.addWidget(self.backspace, 3, 2)
        self.retranslate(Language.EN)

    def _digit(self, grid: QGridLayout, digit: str, row: int, column: int, factor: float) -> None:
        button = key_button(digit, factor=factor)
        button.clicked.connect(lambda _=False, d=digit: self._target.insert(d))
        grid.addWidget(button, row, column)
        self.keys[digit] = button

    def retranslate(self, language: Language) -> None:
        """Label the special keys in `language`."""
        self.setAccessibleName(tr("keypad_name", language))
        self.backspace.setAccessibleName(tr("key_backspace_name", language))
        self.clear.setText(tr("key_clear", language))
        self.clear.setAccessibleName(tr("key_clear", language))
