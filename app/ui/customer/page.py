"""What every customer page shares: a big title, room for content, and a language-aware retranslate."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.domain.channels import Language
from app.ui import theme
from app.ui.widgets.touch_size import at_least_touch


def big_button(factor: float = 1.5, *, primary: bool = False) -> QPushButton:
    """A touch-sized button whose text scales with the system font."""
    button = QPushButton()
    theme.set_font(button, factor, bold=primary)
    theme.touch_target(button, 2.4)
    at_least_touch(button)
    if primary:
        button.setProperty("primary", True)
    return button


class Page(QWidget):
    """A customer page: `title` on top, `body` layout below; subclasses fill in `retranslate`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.language = Language.EN
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # titles carry the customer's name and the store's
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.title, 2.4, bold=True)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(48, 24, 48, 24)
        self.body.setSpacing(18)
        self.body.addWidget(self.title)

    def retranslate(self, language: Language) -> None:
        """Show every text in `language`."""
        self.language = language
