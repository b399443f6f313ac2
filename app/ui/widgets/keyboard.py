"""An on-screen keyboard for email addresses, with keys for the common domains, `.com`, `.net` and `+`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

from app.domain.channels import Language
from app.ui import theme
from app.ui.i18n import tr
from app.ui.widgets.touch_size import at_least_touch

ROWS: tuple[tuple[str, ...], ...] = (
    tuple("1234567890"),
    tuple("qwertyuiop"),
    (*"asdfghjkl", "@"),
    (*"zxcvbnm", ".", "-", "_"),
)
DOMAIN_KEYS: tuple[str, ...] = ("@gmail.com", "@yahoo.com", "@hotmail.com", "@outlook.com", "@icloud.com")
"""The bottom row: the domains most US shoppers use, one tap each."""
SIDE_KEYS: tuple[tuple[int, str], ...] = ((2, "+"), (3, ".net"), (4, ".com"))
"""(row, key) in the right-hand column under Delete and Clear."""


def key_button(label: str, *, factor: float = 1.3) -> QPushButton:
    """One big key that never takes focus from the field it types into."""
    button = QPushButton(label)
    button.setProperty("key", True)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setAutoRepeat(label != "")
    theme.set_font(button, factor)
    theme.touch_target(button, 2.4)
    at_least_touch(button)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    button.setAccessibleName(label)
    return button


class OnScreenKeyboard(QWidget):
    """Types into its target `QLineEdit` at the cursor."""

    def __init__(self, target: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = target
        grid = QGridLayout(self)
        grid.setSpacing(6)
        self.keys: dict[str, QPushButton] = {}
        for row, keys in enumerate(ROWS):
            for column, key in enumerate(keys):
                self._add(grid, key, row, column * 2, 2)
        for column, key in enumerate(DOMAIN_KEYS):
            self._add(grid, key, len(ROWS), column * 4, 4, factor=1.1)
        self.backspace = key_button("\u232b")
        self.backspace.clicked.connect(self._target.backspace)
        self.clear = key_button("")
        self.clear.setAutoRepeat(False)
        self.clear.clicked.connect(self._target.clear)
        for row, key in SIDE_KEYS:
            self._add(grid, key, row, 20, 3, factor=1.1 if len(key) > 1 else 1.3)
        grid.addWidget(self.backspace, 0, 20, 1, 3)
        grid.addWidget(self.clear, 1, 20, 1, 3)
        self.retranslate(Language.EN)

    def _add(self, grid: QGridLayout, key: str, row: int, column: int, span: int, factor: float = 1.3) -> None:
        button = key_button(key, factor=factor)
        button.setAutoRepeat(len(key) == 1)
        button.clicked.connect(lambda _=False, k=key: self.type_text(k))
        grid.addWidget(button, row, column, 1, span)
        self.keys[key] = button

    def type_text(self, text: str) -> None:
        """Insert `text` at the cursor of the target field."""
        self._target.insert(text)

    def retranslate(self, language: Language) -> None:
        """Label the special keys in `language`."""
        self.setAccessibleName(tr("keyboard_name", language))
        self.backspace.setAccessibleName(tr("key_backspace_name", language))
        self.clear.setText(tr("key_clear", language))
        self.clear.setAccessibleName(tr("key_clear", language))
