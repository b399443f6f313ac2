"""The page between customers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.domain.channels import Language
from app.ui import theme
from app.ui.customer.page import Page
from app.ui.i18n import tr


class WelcomePage(Page):
    """Welcome, and a word on what will appear here."""

    def __init__(self, store: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.text, 1.6)
        self.body.addStretch(1)
        self.body.insertWidget(0, QLabel())
        self.body.addWidget(self.text)
        self.body.addStretch(2)
        self.body.insertStretch(0, 2)

    def retranslate(self, language: Language) -> None:
        super().retranslate(language)
        self.title.setText(tr("welcome_title", language, store=self._store))
        self.text.setText(tr("welcome_body", language))
