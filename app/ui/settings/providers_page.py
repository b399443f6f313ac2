"""Each provider's settings (file) and credentials (keyring, masked, never shown back)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from app.config.settings import ProviderValue, Settings
from app.services.catalogue import ProviderCatalogue
from app.ui.settings.provider_form import ProviderForm


class ProvidersPage(QWidget):
    """A form per provider; secret fields are password fields that say whether a value is stored."""

    def __init__(self, catalogue: ProviderCatalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setProperty("hint", "bad")
        self.problem.setAccessibleName("Keyring problem")
        self.problem.hide()
        self.forms = {provider.id: ProviderForm(provider) for provider in catalogue.providers()}
        self.settings: dict[str, dict[str, QLineEdit]] = {p: form.settings for p, form in self.forms.items()}
        self.secrets: dict[str, dict[str, QLineEdit]] = {p: form.secrets for p, form in self.forms.items()}
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.problem)
        for form in self.forms.values():
            column.addWidget(form)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        QVBoxLayout(self).addWidget(scroll)

    def load(self, settings: Settings) -> None:
        """Show each provider's file settings; secret fields start empty."""
        for provider_id, form in self.forms.items():
            form.load(settings.providers.get(provider_id, {}))

    def show_secret_state(self, provider: str, field: str, stored: bool) -> None:
        """Say in the placeholder whether a value is stored (the value itself is never shown)."""
        self.forms[provider].show_secret_state(field, stored)

    def show_keyring_problem(self, problem: str | None) -> None:
        """Show why secrets cannot be stored, and lock the secret fields; or hide the warning."""
        self.problem.setText(problem or "")
        self.problem.setVisible(bool(problem))
        for form in self.forms.values():
            form.lock_secrets(bool(problem))

    def values(self, current: dict[str, dict[str, ProviderValue]]) -> dict[str, dict[str, Any]]:
        """The providers section with this page's changes (empty fields removed)."""
        out: dict[str, dict[str, Any]] = {k: dict(v) for k, v in current.items()}
        for provider_id, form in self.forms.items():
            section = form.values(current.get(provider_id, {}))
            if section:
                out[provider_id] = section
            else:
                out.pop(provider_id, None)
        return out

    def typed_secrets(self) -> list[tuple[str, str, str]]:
        """(provider, field, value) for every secret field typed into."""
        return [(p, name, value) for p, form in self.forms.items() for name, value in form.typed_secrets().items()]
