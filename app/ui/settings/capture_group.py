"""Receipt capture from a legacy POS: where its print stream comes from and goes to, and how to read it.

Serial capture sits between the POS and its printer (two ports); network capture listens where the
POS prints and forwards to the printer's address. The rows follow the mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QWidget

from app.config.settings import CaptureSettings
from app.domain.capture import PRESETS
from app.domain.errors import ValidationFailed
from app.ui.settings.device_fields import choose, combo, editable_combo, line, needed, port_combo, spin

CAPTURE_MODES = (("serial", "Serial: between the POS and its printer"), ("tcp", "Network: the POS prints to this PC"))
TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


class CaptureGroup(QGroupBox):
    """The `[capture]` section: connection, layout preset, source name, lane and the store's time zone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Receipt capture from a legacy POS", parent)
        self.form = form = QFormLayout(self)
        self.enabled = QCheckBox("Read the receipts the POS prints")
        self.enabled.setAccessibleName("Receipt capture")
        self.mode = combo("Capture connection", CAPTURE_MODES)
        self.pos_port = port_combo("Port the POS prints to")
        self.printer_port = port_combo("Port of the POS's printer")
        self.baud = spin(CaptureSettings, "baud", "Capture baud rate")
        self.listen_host = line("Listen on address", "0.0.0.0: every network of this PC")
        self.listen_port = spin(CaptureSettings, "listen_port", "Listen on port")
        self.printer_host = line("POS printer address", "e.g. 192.168.1.50")
        self.printer_tcp_port = spin(CaptureSettings, "printer_tcp_port", "POS printer network port")
        self.layout_preset = combo("Receipt layout", ((name, name.title()) for name in PRESETS))
        self.source_name = line("Source name", "e.g. pos")
        for bound in CaptureSettings.model_fields["name"].metadata:
            self.source_name.setMaxLength(int(getattr(bound, "max_length", self.source_name.maxLength())))
        self.lane = line("Lane when the receipt prints none")
        self.timezone = editable_combo("Store time zone", "empty: this PC's time zone")
        self.timezone.addItems(["", *TIMEZONES])
        form.addRow(self.enabled)
        form.addRow("Connection", self.mode)
        form.addRow("POS prints to port", self.pos_port)
        form.addRow("Printer port", self.printer_port)
        form.addRow("Baud rate", self.baud)
        form.addRow("Listen on address", self.listen_host)
        form.addRow("Listen on port", self.listen_port)
        form.addRow("Printer address", self.printer_host)
        form.addRow("Printer network port", self.printer_tcp_port)
        form.addRow("Receipt layout", self.layout_preset)
        form.addRow("Source name", self.source_name)
        form.addRow("Lane", self.lane)
        form.addRow("Time zone", self.timezone)
        self.mode.currentIndexChanged.connect(self._show_fields)
        self._show_fields()

    @property
    def ports(self) -> tuple[QComboBox, ...]:
        """The fields that take a serial port."""
        return (self.pos_port, self.printer_port)

    def _show_fields(self) -> None:
        serial = self.mode.currentData() == "serial"
        serial_rows: tuple[QWidget, ...] = (self.pos_port, self.printer_port, self.baud)
        tcp_rows: tuple[QWidget, ...] = (self.listen_host, self.listen_port, self.printer_host, self.printer_tcp_port)
        for widget in serial_rows:
            self.form.setRowVisible(widget, serial)
        for widget in tcp_rows:
            self.form.setRowVisible(widget, not serial)

    def load(self, settings: CaptureSettings) -> None:
        """Show the capture settings."""
        self.enabled.setChecked(settings.enabled)
        choose(self.mode, settings.mode)
        self.pos_port.setEditText(settings.pos_port)
        self.printer_port.setEditText(settings.printer_port)
        self.baud.setValue(settings.baud)
        self.listen_host.setText(settings.listen_host)
        self.listen_port.setValue(settings.listen_port)
        self.printer_host.setText(settings.printer_host)
        self.printer_tcp_port.setValue(settings.printer_tcp_port)
        choose(self.layout_preset, settings.layout.preset)
        self.source_name.setText(settings.name)
        self.lane.setText(settings.lane)
        self.timezone.setEditText(settings.timezone or "")

    def values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The `[capture]` section of `current` with this group's changes.

        Raises `ValidationFailed` for what the mode needs left empty, an empty source name or an
        unknown time zone.
        """
        enabled, mode = self.enabled.isChecked(), str(self.mode.currentData())
        pos_port = self.pos_port.currentText().strip()
        printer_port = self.printer_port.currentText().strip()
        listen_host = self.listen_host.text().strip()
        printer_host = self.printer_host.text().strip()
        if enabled and mode == "serial":
            needed(pos_port, "Receipt capture: choose or type the port the POS prints to.", "capture.pos_port")
            needed(printer_port, "Receipt capture: choose or type the printer's port.", "capture.printer_port")
        if enabled and mode == "tcp":
            needed(listen_host, "Receipt capture: type the address to listen on.", "capture.listen_host")
            needed(printer_host, "Receipt capture: type the printer's network address.", "capture.printer_host")
        timezone = self.timezone.currentText().strip()
        if timezone:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationFailed(
                    f"Receipt capture: {timezone!r} is not a known time zone (e.g. America/Chicago).",
                    field="capture.timezone",
                ) from None
        name = needed(self.source_name.text().strip(), "Receipt capture: the source name is empty.", "capture.name")
        capture = {
            **current,
            "enabled": enabled,
            "mode": mode,
            "pos_port": pos_port,
            "printer_port": printer_port,
            "baud": self.baud.value(),
            "listen_host": listen_host,
            "listen_port": self.listen_port.value(),
            "printer_host": printer_host,
            "printer_tcp_port": self.printer_tcp_port.value(),
            "layout": {**current.get("layout", {}), "preset": str(self.layout_preset.currentData())},
            "name": name,
            "lane": self.lane.text().strip() or "1",
            "timezone": timezone or None,
        }
        return {k: v for k, v in capture.items() if v is not None}
