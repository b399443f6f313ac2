"""Each provider's settings (file) and credentials (keyring, masked, never shown back)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from app.config.settings import ProviderValue, Settings
from app.services.catalogue import ProviderCatalogue


def parse_value(text: str, old: ProviderValue | None) -> ProviderValue:
    """Typed text, kept as the type it had in the file (number, flag) when it still parses."""
    if isinstance(old, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(old, int):
        try:
            return int(text)
        except ValueError:
            return text
    if isinstance(old, float):
        try:
            return float(text)
        except ValueError:
            return text
    return text


class ProvidersPage(QWidget):
    """A group per provider; secret fields are password fields that say whether a value is stored."""

    def __init__(self, catalogue: ProviderCatalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setProperty("hint", "bad")
        self.problem.setAccessibleName("Keyring problem")
        self.problem.hide()
        self.settings: dict[str, dict[str, QLineEdit]] = {}
        self.secrets: dict[str, dict[str, QLineEdit]] = {}
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.problem)
        for provider in catalogue.providers():
            box = QGroupBox(f"{provider.display_name} ({provider.channel.value})")
            form = QFormLayout(box)
            self.settings[provider.id] = {}
            self.secrets[provider.id] = {}
            for setting in provider.setting_fields:
                field = QLineEdit()
                field.setAccessibleName(f"{provider.display_name} {setting.label}")
                form.addRow(setting.label + ("" if setting.required else " (optional)"), field)
                self.settings[provider.id][setting.name] = field
            for secret in provider.secret_fields:
                field = QLineEdit()
                field.setEchoMode(QLineEdit.EchoMode.Password)
                field.setAccessibleName(f"{provider.display_name} {secret.label} (stored in the keyring)")
                form.addRow(f"{secret.label} (keyring)", field)
                self.secrets[provider.id][secret.name] = field
            column.addWidget(box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        QVBoxLayout(self).addWidget(scroll)

    def load(self, settings: Settings) -> None:
        """Show each provider's file settings; secret fields start empty."""
        for provider_id, fields in self.settings.items():
            section = settings.providers.get(provider_id, {})
            for name, field in fields.items():
                value = section.get(name)
                field.setText("" if value is None else str(value))
        for fields in self.secrets.values():
            for field in fields.values():
                field.clear()

    def show_secret_state(self, provider: str, field: str, stored: bool) -> None:
        """Say in the placeholder whether a value is stored (the value itself is never shown)."""
        self.secrets[provider][field].setPlaceholderText(
            "\u25cf\u25cf\u25cf\u25cf\u25cf\u25cf stored \u2014 type to replace" if stored else "not stored"
        )

    def show_keyring_problem(self, problem: str | None) -> None:
        """Show why secrets cannot be stored, and lock the secret fields; or hide the warning."""
        self.problem.setText(problem or "")
        self.problem.setVisible(bool(problem))
        for fields in self.secrets.values():
            for field in fields.values():
                field.setEnabled(not problem)

    def values(self, current: dict[str, dict[str, ProviderValue]]) -> dict[str, dict[str, Any]]:
        """The providers section with this page's changes (empty fields removed)."""
        out: dict[str, dict[str, Any]] = {k: dict(v) for k, v in current.items()}
        for provider_id, fields in self.settings.items():
            section = out.setdefault(provider_id, {})
            for name, field in fields.items():
                text = field.text().strip()
                if text:
                    section[name] = parse_value(text, current.get(provider_id, {}).get(name))
                else:
                    section.pop(name, None)
            if not section:
                out.pop(provider_id)
        return out

    def typed_secrets(self) -> list[tuple[str, str, str]]:
        """(provider, field, value) for every secret field typed into."""
        return [
            (p, name, field.text())
            for p, fields in self.secrets.items()
            for name, field in fields.items()
            if field.text()
        ]
