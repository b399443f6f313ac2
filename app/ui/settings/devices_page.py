"""The lane's devices: the barcode scanner, the receipt printer, and receipt capture from a legacy POS.

One group per device (`scanner_group`, `printer_group`, `capture_group`), each showing and
collecting its own settings section. The runtime builds its devices once, at start-up, so changes
here apply after ReceiptDesk restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from app.config.settings import Settings
from app.ui.settings.capture_group import CaptureGroup
from app.ui.settings.device_fields import list_ports
from app.ui.settings.printer_group import PrinterGroup
from app.ui.settings.scanner_group import ScannerGroup


class DevicesPage(QWidget):
    """Barcode scanner, receipt printer and POS receipt capture; fields follow the printer kind and capture mode."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        inner = QWidget()
        column = QVBoxLayout(inner)
        self.note = note = QLabel("Device changes take effect after ReceiptDesk restarts.")
        note.setProperty("muted", True)
        note.setWordWrap(True)
        note.setAccessibleName("Device changes take effect after a restart")
        self.scanner = ScannerGroup()
        self.printer = PrinterGroup()
        self.capture = CaptureGroup()
        column.addWidget(note)
        column.addWidget(self.scanner)
        column.addWidget(self.printer)
        column.addWidget(self.capture)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        QVBoxLayout(self).addWidget(scroll)
        self.ports = (*self.scanner.ports, *self.printer.ports, *self.capture.ports)
        self._name_fields()

    def _name_fields(self) -> None:
        """Every field under its page-wide name too (`scanner_port`, `printer_kind`, `capture_mode`...)."""
        sc, pr, ca = self.scanner, self.printer, self.capture
        self.scanner_enabled, self.scanner_port, self.scanner_baud = sc.enabled, sc.port, sc.baud
        self.terminator, self.wedge_enabled, self.wedge_gap = sc.terminator, sc.wedge_enabled, sc.wedge_gap
        self.wedge_length, self.loyalty_prefixes, self.receipt_pattern = (
            sc.wedge_length,
            sc.loyalty_prefixes,
            sc.receipt_pattern,
        )
        self.printer_form, self.printer_enabled, self.printer_kind = pr.form, pr.enabled, pr.kind
        self.printer_port, self.printer_baud, self.printer_host = pr.port, pr.baud, pr.host
        self.printer_network_port, self.paper, self.codes = pr.network_port, pr.paper, pr.codes
        self.capture_form, self.capture_enabled, self.capture_mode = ca.form, ca.enabled, ca.mode
        self.pos_port, self.capture_printer_port, self.capture_baud = ca.pos_port, ca.printer_port, ca.baud
        self.listen_host, self.listen_port = ca.listen_host, ca.listen_port
        self.capture_printer_host, self.capture_printer_tcp_port = ca.printer_host, ca.printer_tcp_port
        self.layout_preset, self.capture_name, self.capture_lane = ca.layout_preset, ca.source_name, ca.lane
        self.timezone = ca.timezone

    def show_ports(self, ports: Iterable[tuple[str, str]]) -> None:
        """List the serial ports found; what each port field holds stays."""
        found = list(ports)
        for box in self.ports:
            list_ports(box, found)

    def load(self, settings: Settings) -> None:
        """Show the scanner, printer and capture sections of `settings`."""
        self.scanner.load(settings.scanner)
        self.printer.load(settings.printer)
        self.capture.load(settings.capture)

    def values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The scanner, printer and capture sections of `current` with this page's changes.

        Raises `ValidationFailed` for what the settings model alone does not check (a regular
        expression, a time zone, a port left empty); the model checks the rest on save.
        """
        return {
            "scanner": self.scanner.values(current.get("scanner", {})),
            "printer": self.printer.values(current.get("printer", {})),
            "capture": self.capture.values(current.get("capture", {})),
        }
