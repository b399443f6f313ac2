"""One provider's form: its settings (for the file) and its credentials (for the keyring, masked).

The settings window shows one per provider; the set-up assistant shows the one chosen for a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QWidget

from app.config.settings import ProviderValue
from app.services.catalogue import ProviderInfo

STORED = "\u25cf\u25cf\u25cf\u25cf\u25cf\u25cf stored \u2014 type to replace"


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


class ProviderForm(QGroupBox):
    """A line per declared field; secret fields are password fields that say whether a value is stored."""

    def __init__(self, provider: ProviderInfo, title: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(title if title is not None else f"{provider.display_name} ({provider.channel.value})", parent)
        self.provider = provider
        self.form = form = QFormLayout(self)
        self.settings: dict[str, QLineEdit] = {}
        self.secrets: dict[str, QLineEdit] = {}
        for setting in provider.setting_fields:
            field = QLineEdit()
            field.setAccessibleName(f"{provider.display_name} {setting.label}")
            form.addRow(setting.label + ("" if setting.required else " (optional)"), field)
            self.settings[setting.name] = field
        for secret in provider.secret_fields:
            field = QLineEdit()
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setAccessibleName(f"{provider.display_name} {secret.label} (stored in the keyring)")
            form.addRow(f"{secret.label} (keyring)", field)
            self.secrets[secret.name] = field

    def load(self, section: Mapping[str, ProviderValue]) -> None:
        """Show the provider's file settings; secret fields start empty."""
        for name, field in self.settings.items():
            value = section.get(name)
            field.setText("" if value is None else str(value))
        for field in self.secrets.values():
            field.clear()

    def values(self, current: Mapping[str, ProviderValue]) -> dict[str, Any]:
        """The provider's section with this form's changes (empty fields removed)."""
        section: dict[str, Any] = dict(current)
        for name, field in self.settings.items():
            text = field.text().strip()
            if text:
                section[name] = parse_value(text, current.get(name))
            else:
                section.pop(name, None)
        return section

    def typed_secrets(self) -> dict[str, str]:
        """`field -> value` for every secret field typed into."""
        return {name: field.text() for name, field in self.secrets.items() if field.text()}

    def show_secret_state(self, field: str, stored: bool) -> None:
        """Say in the placeholder whether a value is stored (the value itself is never shown)."""
        self.secrets[field].setPlaceholderText(STORED if stored else "not stored")

    def lock_secrets(self, locked: bool) -> None:
        """Disable the secret fields (no keyring to store them in), or enable them again."""
        for field in self.secrets.values():
            field.setEnabled(not locked)
