"""Which provider sends each channel, and which one takes over when it fails."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.config.settings import Settings, routing_of
from app.domain.channels import Channel
from app.services.catalogue import ProviderCatalogue

ROUTED = (
    (Channel.EMAIL, "&Email receipts via", "Email &fallback"),
    (Channel.SMS, "&Text receipts via", "Text f&allback"),
)


def _combo(catalogue: ProviderCatalogue, channel: Channel, name: str, empty: str) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    combo.addItem(empty, None)
    for provider in catalogue.for_channel(channel):
        combo.addItem(provider.display_name, provider.id)
    return combo


class RoutingPage(QWidget):
    """Per channel a primary provider and an optional fallback, from the providers that can carry it."""

    def __init__(self, catalogue: ProviderCatalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.primary: dict[Channel, QComboBox] = {}
        self.fallback: dict[Channel, QComboBox] = {}
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # rows keep their natural height
        for channel, label, fallback_label in ROUTED:
            self.primary[channel] = _combo(catalogue, channel, label.replace("&", ""), "Not sent")
            self.fallback[channel] = _combo(catalogue, channel, fallback_label.replace("&", ""), "None")
            form.addRow(label, self.primary[channel])
            form.addRow(fallback_label, self.fallback[channel])
        note = QLabel("Each provider needs its settings and credentials on the Providers page.")
        note.setProperty("muted", True)
        note.setWordWrap(True)
        form.addRow(note)

    def load(self, settings: Settings) -> None:
        """Show the routing of `settings`."""
        chains = routing_of(settings).chains
        for channel in self.primary:
            chain = chains.get(channel, ())
            self.primary[channel].setCurrentIndex(max(0, self.primary[channel].findData(chain[0] if chain else None)))
            second = chain[1] if len(chain) > 1 else None
            self.fallback[channel].setCurrentIndex(max(0, self.fallback[channel].findData(second)))

    def values(self) -> dict[str, str | list[str]]:
        """The routing table as the settings file holds it (a list when there is a fallback)."""
        out: dict[str, str | list[str]] = {}
        for channel, combo in self.primary.items():
            primary = combo.currentData()
            if primary is None:
                continue
            fallback = self.fallback[channel].currentData()
            out[channel.value] = [str(primary), str(fallback)] if fallback and fallback != primary else str(primary)
        return out
