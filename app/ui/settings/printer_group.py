"""The receipt printer's settings: how it is connected (fields follow the kind), paper and sale code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QWidget

from app.config.settings import PrinterSettings
from app.ui.settings.device_fields import choose, combo, line, needed, port_combo, spin

PRINTER_KINDS = (("serial", "Serial port"), ("network", "Network (raw TCP)"), ("dummy", "Dummy (writes to a file)"))
PAPER = ((80, "80 mm (48 columns)"), (58, "58 mm (32 columns)"))
CODES = (("barcode", "Barcode"), ("qr", "QR code"), ("both", "Barcode and QR code"), ("none", "None"))


class PrinterGroup(QGroupBox):
    """The `[printer]` section; the port rows show for a serial printer, the address rows for a network one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Receipt printer", parent)
        self.form = form = QFormLayout(self)
        self.enabled = QCheckBox("Print paper receipts")
        self.enabled.setAccessibleName("Receipt printer")
        self.kind = combo("Printer connection", PRINTER_KINDS)
        self.port = port_combo("Printer port")
        self.baud = spin(PrinterSettings, "baud", "Printer baud rate")
        self.host = line("Printer address", "e.g. 192.168.1.60")
        self.network_port = spin(PrinterSettings, "network_port", "Printer network port")
        self.paper = combo("Paper width", PAPER)
        self.codes = combo("Sale code on the receipt", CODES)
        form.addRow(self.enabled)
        form.addRow("Connection", self.kind)
        form.addRow("Port", self.port)
        form.addRow("Baud rate", self.baud)
        form.addRow("Address", self.host)
        form.addRow("Network port", self.network_port)
        form.addRow("Paper", self.paper)
        form.addRow("Sale code", self.codes)
        self.kind.currentIndexChanged.connect(self._show_fields)
        self._show_fields()

    @property
    def ports(self) -> tuple[QComboBox, ...]:
        """The fields that take a serial port."""
        return (self.port,)

    def _show_fields(self) -> None:
        kind = self.kind.currentData()
        rows: tuple[tuple[QWidget, bool], ...] = (
            (self.port, kind == "serial"),
            (self.baud, kind == "serial"),
            (self.host, kind == "network"),
            (self.network_port, kind == "network"),
        )
        for widget, shown in rows:
            self.form.setRowVisible(widget, shown)

    def load(self, settings: PrinterSettings) -> None:
        """Show the printer settings."""
        self.enabled.setChecked(settings.enabled)
        choose(self.kind, settings.kind)
        self.port.setEditText(settings.port)
        self.baud.setValue(settings.baud)
        self.host.setText(settings.host or "")
        self.network_port.setValue(settings.network_port)
        choose(self.paper, settings.paper)
        choose(self.codes, settings.codes)

    def values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The `[printer]` section of `current` with this group's changes.

        Raises `ValidationFailed` for the port or address the chosen connection needs, left empty.
        """
        enabled, kind = self.enabled.isChecked(), str(self.kind.currentData())
        port = self.port.currentText().strip()
        if enabled and kind == "serial":
            needed(port, "Receipt printer: choose or type the serial port it is on.", "printer.port")
        host = self.host.text().strip()
        if enabled and kind == "network":
            needed(host, "Receipt printer: type the network printer's address.", "printer.host")
        printer = {
            **current,
            "enabled": enabled,
            "kind": kind,
            "port": port,
            "baud": self.baud.value(),
            "host": host or None,
            "network_port": self.network_port.value(),
            "paper": int(self.paper.currentData()),
            "codes": str(self.codes.currentData()),
        }
        return {k: v for k, v in printer.items() if v is not None}
