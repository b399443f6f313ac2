"""The last page: thank you, and where the receipt went."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.domain.channels import Language
from app.ui import theme
from app.ui.customer.page import Page
from app.ui.i18n import tr


class DonePage(Page):
    """Shows one message (a catalogue key and its values) in the current language."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.text, 1.8)
        self.body.insertStretch(0, 2)
        self.body.addWidget(self.text)
        self.body.addStretch(3)
        self._title: tuple[str, dict[str, object]] = ("done_sent", {})
        self._text: tuple[str, dict[str, object]] | None = None

    def show_message(self, title_key: str, text_key: str | None = None, **values: object) -> None:
        """Show `title_key` big and `text_key` under it (both from the catalogue)."""
        self._title = (title_key, values)
        self._text = (text_key, values) if text_key else None
        self.retranslate(self.language)

    def retranslate(self, language: Language) -> None:
        super().retranslate(language)
        key, values = self._title
        self.title.setText(tr(key, language, **values))
        self.text.setText(tr(self._text[0], language, **self._text[1]) if self._text else "")
