"""Store branding as the receipts show it, and the default language."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from app.config.settings import Settings
from app.domain.channels import Language

LANGUAGES = ((Language.EN, "English"), (Language.ES, "Español"))


class StorePage(QWidget):
    """Name, address, phone, website, preferences link, logo, footer, default language."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QLineEdit] = {}
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # rows keep their natural height
        for key, label in (
            ("name", "Store &name"),
            ("address", "&Address"),
            ("phone", "&Phone"),
            ("website", "&Website"),
            ("preferences_url", "Receipt p&references link"),
            ("logo", "L&ogo file"),
        ):
            field = QLineEdit()
            field.setAccessibleName(label.replace("&", ""))
            if key == "logo":
                field.setPlaceholderText("Full path of a PNG or SVG file, at most 512 KB (atop e-mail receipts)")
            form.addRow(label, field)
            self.fields[key] = field
        self.footer = QPlainTextEdit()
        self.footer.setAccessibleName("Receipt footer")
        self.footer.setTabChangesFocus(True)
        self.footer.setMaximumHeight(self.footer.fontMetrics().height() * 5)
        form.addRow("&Footer", self.footer)
        self.language = QComboBox()
        self.language.setAccessibleName("Default language")
        for value, label in LANGUAGES:
            self.language.addItem(label, value)
        form.addRow("Default &language", self.language)

    def load(self, settings: Settings) -> None:
        """Show the store section of `settings`."""
        store = settings.store
        for key, field in self.fields.items():
            field.setText(getattr(store, key) or "")
        self.footer.setPlainText(store.footer)
        self.language.setCurrentIndex(max(0, self.language.findData(store.default_language)))

    def values(self, current: dict[str, Any]) -> dict[str, Any]:
        """The store section with this page's changes."""
        store = dict(current)
        for key, field in self.fields.items():
            text = field.text().strip()
            store[key] = text or (None if key in ("website", "preferences_url", "logo") else "")
        store["footer"] = self.footer.toPlainText().strip()
        store["default_language"] = Language(self.language.currentData()).value
        return {k: v for k, v in store.items() if v is not None}
