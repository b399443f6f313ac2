"""The lane's devices: the barcode scanner, the receipt printer, and receipt capture from a legacy POS.

The runtime builds its devices once, at start-up, so changes here apply after ReceiptDesk restarts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from serial.tools import list_ports

from app.config.settings import CaptureSettings, PrinterSettings, ScannerSettings, Settings
from app.domain.capture import PRESETS
from app.domain.errors import ValidationFailed

TERMINATORS = (("CR", "CR (carriage return)"), ("LF", "LF (line feed)"), ("CRLF", "CRLF (both)"))
PRINTER_KINDS = (("serial", "Serial port"), ("network", "Network (raw TCP)"), ("dummy", "Dummy (writes to a file)"))
PAPER = ((80, "80 mm (48 columns)"), (58, "58 mm (32 columns)"))
CODES = (("barcode", "Barcode"), ("qr", "QR code"), ("both", "Barcode and QR code"), ("none", "None"))
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
PORT_HINT = "/dev/ttyACM0, COM3 or a pyserial URL"


def serial_ports() -> list[tuple[str, str]]:
    """`(device, description)` of the serial ports this machine has now. Blocking: call it off the loop."""
    try:
        found = list_ports.comports()
    except OSError:
        return []
    return sorted((port.device, port.description or "") for port in found)


def _spin(model: type[BaseModel], name: str, label: str, suffix: str = "") -> QSpinBox:
    """A spin box holding the bounds the settings model puts on `name`."""
    low, high = 0, 2**31 - 1
    for bound in model.model_fields[name].metadata:
        if hasattr(bound, "ge"):
            low = int(bound.ge)
        if hasattr(bound, "gt"):
            low = int(bound.gt) + 1
        if hasattr(bound, "le"):
            high = int(bound.le)
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSuffix(suffix)
    spin.setAccessibleName(label)
    return spin


def _combo(label: str, choices: Iterable[tuple[object, str]]) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(label)
    for value, text in choices:
        combo.addItem(text, value)
    return combo


def _port_combo(label: str) -> QComboBox:
    """A port list the person may also type into (a port not plugged in yet, a pyserial URL)."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.setLineEdit(_line(label, PORT_HINT))
    combo.setAccessibleName(label)
    return combo


def _line(label: str, placeholder: str = "") -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(label)
    field.setPlaceholderText(placeholder)
    return field


def _choose(combo: QComboBox, value: object) -> None:
    """Select `value`; one the list lacks (written by hand in the file) is added, so it is kept."""
    index = combo.findData(value)
    if index < 0:
        combo.addItem(str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _needed(text: str, message: str, field: str) -> str:
    if not text:
        raise ValidationFailed(message, field=field)
    return text


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
        column.addWidget(note)
        column.addWidget(self._scanner_box())
        column.addWidget(self._printer_box())
        column.addWidget(self._capture_box())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        QVBoxLayout(self).addWidget(scroll)
        self.ports = (self.scanner_port, self.printer_port, self.pos_port, self.capture_printer_port)
        self.printer_kind.currentIndexChanged.connect(self._show_printer_fields)
        self.capture_mode.currentIndexChanged.connect(self._show_capture_fields)
        self._show_printer_fields()
        self._show_capture_fields()

    def _scanner_box(self) -> QGroupBox:
        box = QGroupBox("Barcode scanner")
        form = QFormLayout(box)
        self.scanner_enabled = QCheckBox("Read a scanner on a serial port")
        self.scanner_enabled.setAccessibleName("Serial barcode scanner")
        self.scanner_port = _port_combo("Scanner port")
        self.scanner_baud = _spin(ScannerSettings, "baud", "Scanner baud rate")
        self.terminator = _combo("Scanner terminator", TERMINATORS)
        self.wedge_enabled = QCheckBox("Tell a keyboard-wedge scanner's bursts from typing")
        self.wedge_enabled.setAccessibleName("Keyboard-wedge scanner")
        self.wedge_gap = _spin(ScannerSettings, "wedge_max_gap_ms", "Longest gap between scanned keys", " ms")
        self.wedge_length = _spin(ScannerSettings, "wedge_min_length", "Shortest scanned code")
        self.loyalty_prefixes = _line("Loyalty card prefixes", "comma separated, e.g. 4000, LC")
        self.receipt_pattern = _line("Receipt barcode pattern", "a regular expression with a group sale_id")
        form.addRow(self.scanner_enabled)
        form.addRow("Port", self.scanner_port)
        form.addRow("Baud rate", self.scanner_baud)
        form.addRow("Line ends with", self.terminator)
        form.addRow(self.wedge_enabled)
        form.addRow("Longest gap between keys", self.wedge_gap)
        form.addRow("Shortest code", self.wedge_length)
        form.addRow("Loyalty card prefixes", self.loyalty_prefixes)
        form.addRow("Receipt barcode pattern", self.receipt_pattern)
        return box

    def _printer_box(self) -> QGroupBox:
        box = QGroupBox("Receipt printer")
        self.printer_form = form = QFormLayout(box)
        self.printer_enabled = QCheckBox("Print paper receipts")
        self.printer_enabled.setAccessibleName("Receipt printer")
        self.printer_kind = _combo("Printer connection", PRINTER_KINDS)
        self.printer_port = _port_combo("Printer port")
        self.printer_baud = _spin(PrinterSettings, "baud", "Printer baud rate")
        self.printer_host = _line("Printer address", "e.g. 192.168.1.60")
        self.printer_network_port = _spin(PrinterSettings, "network_port", "Printer network port")
        self.paper = _combo("Paper width", PAPER)
        self.codes = _combo("Sale code on the receipt", CODES)
        form.addRow(self.printer_enabled)
        form.addRow("Connection", self.printer_kind)
        form.addRow("Port", self.printer_port)
        form.addRow("Baud rate", self.printer_baud)
        form.addRow("Address", self.printer_host)
        form.addRow("Network port", self.printer_network_port)
        form.addRow("Paper", self.paper)
        form.addRow("Sale code", self.codes)
        return box

    def _capture_box(self) -> QGroupBox:
        box = QGroupBox("Receipt capture from a legacy POS")
        self.capture_form = form = QFormLayout(box)
        self.capture_enabled = QCheckBox("Read the receipts the POS prints")
        self.capture_enabled.setAccessibleName("Receipt capture")
        self.capture_mode = _combo("Capture connection", CAPTURE_MODES)
        self.pos_port = _port_combo("Port the POS prints to")
        self.capture_printer_port = _port_combo("Port of the POS's printer")
        self.capture_baud = _spin(CaptureSettings, "baud", "Capture baud rate")
        self.listen_host = _line("Listen on address", "0.0.0.0: every network of this PC")
        self.listen_port = _spin(CaptureSettings, "listen_port", "Listen on port")
        self.capture_printer_host = _line("POS printer address", "e.g. 192.168.1.50")
        self.capture_printer_tcp_port = _spin(CaptureSettings, "printer_tcp_port", "POS printer network port")
        self.layout_preset = _combo("Receipt layout", ((name, name.title()) for name in PRESETS))
        self.capture_name = _line("Source name", "e.g. pos")
        for bound in CaptureSettings.model_fields["name"].metadata:
            self.capture_name.setMaxLength(int(getattr(bound, "max_length", self.capture_name.maxLength())))
        self.capture_lane = _line("Lane when the receipt prints none")
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.timezone.setLineEdit(_line("Store time zone", "empty: this PC's time zone"))
        self.timezone.setAccessibleName("Store time zone")
        self.timezone.addItems(["", *TIMEZONES])
        form.addRow(self.capture_enabled)
        form.addRow("Connection", self.capture_mode)
        form.addRow("POS prints to port", self.pos_port)
        form.addRow("Printer port", self.capture_printer_port)
        form.addRow("Baud rate", self.capture_baud)
        form.addRow("Listen on address", self.listen_host)
        form.addRow("Listen on port", self.listen_port)
        form.addRow("Printer address", self.capture_printer_host)
        form.addRow("Printer network port", self.capture_printer_tcp_port)
        form.addRow("Receipt layout", self.layout_preset)
        form.addRow("Source name", self.capture_name)
        form.addRow("Lane", self.capture_lane)
        form.addRow("Time zone", self.timezone)
        return box

    def _show_printer_fields(self) -> None:
        kind = self.printer_kind.currentData()
        rows: tuple[tuple[QWidget, bool], ...] = (
            (self.printer_port, kind == "serial"),
            (self.printer_baud, kind == "serial"),
            (self.printer_host, kind == "network"),
            (self.printer_network_port, kind == "network"),
        )
        for widget, shown in rows:
            self.printer_form.setRowVisible(widget, shown)

    def _show_capture_fields(self) -> None:
        serial = self.capture_mode.currentData() == "serial"
        serial_rows: tuple[QWidget, ...] = (self.pos_port, self.capture_printer_port, self.capture_baud)
        tcp_rows: tuple[QWidget, ...] = (
            self.listen_host,
            self.listen_port,
            self.capture_printer_host,
            self.capture_printer_tcp_port,
        )
        for widget in serial_rows:
            self.capture_form.setRowVisible(widget, serial)
        for widget in tcp_rows:
            self.capture_form.setRowVisible(widget, not serial)

    def show_ports(self, ports: Iterable[tuple[str, str]]) -> None:
        """List the serial ports found; what each port field holds stays."""
        found = list(ports)
        for combo in self.ports:
            text = combo.currentText()
            combo.clear()
            for device, description in found:
                combo.addItem(device)
                combo.setItemData(combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
            combo.setEditText(text)

    def load(self, settings: Settings) -> None:
        """Show the scanner, printer and capture sections of `settings`."""
        sc, pr, ca = settings.scanner, settings.printer, settings.capture
        self.scanner_enabled.setChecked(sc.enabled)
        self.scanner_port.setEditText(sc.port)
        self.scanner_baud.setValue(sc.baud)
        named = sc.terminator.strip().upper()
        _choose(self.terminator, named if self.terminator.findData(named) >= 0 else sc.terminator)
        self.wedge_enabled.setChecked(sc.wedge_enabled)
        self.wedge_gap.setValue(round(sc.wedge_max_gap_ms))
        self.wedge_length.setValue(sc.wedge_min_length)
        self.loyalty_prefixes.setText(", ".join(sc.loyalty_prefixes))
        self.receipt_pattern.setText(sc.receipt_pattern)
        self.printer_enabled.setChecked(pr.enabled)
        _choose(self.printer_kind, pr.kind)
        self.printer_port.setEditText(pr.port)
        self.printer_baud.setValue(pr.baud)
        self.printer_host.setText(pr.host or "")
        self.printer_network_port.setValue(pr.network_port)
        _choose(self.paper, pr.paper)
        _choose(self.codes, pr.codes)
        self.capture_enabled.setChecked(ca.enabled)
        _choose(self.capture_mode, ca.mode)
        self.pos_port.setEditText(ca.pos_port)
        self.capture_printer_port.setEditText(ca.printer_port)
        self.capture_baud.setValue(ca.baud)
        self.listen_host.setText(ca.listen_host)
        self.listen_port.setValue(ca.listen_port)
        self.capture_printer_host.setText(ca.printer_host)
        self.capture_printer_tcp_port.setValue(ca.printer_tcp_port)
        _choose(self.layout_preset, ca.layout.preset)
        self.capture_name.setText(ca.name)
        self.capture_lane.setText(ca.lane)
        self.timezone.setEditText(ca.timezone or "")

    def values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The scanner, printer and capture sections of `current` with this page's changes.

        Raises `ValidationFailed` for what the settings model alone does not check (a regular
        expression, a time zone, a port left empty); the model checks the rest on save.
        """
        return {
            "scanner": self._scanner_values(current.get("scanner", {})),
            "printer": self._printer_values(current.get("printer", {})),
            "capture": self._capture_values(current.get("capture", {})),
        }

    def _scanner_values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        enabled = self.scanner_enabled.isChecked()
        port = self.scanner_port.currentText().strip()
        if enabled:
            _needed(port, "Barcode scanner: choose or type the serial port it is on.", "scanner.port")
        pattern = _needed(
            self.receipt_pattern.text().strip(),
            "Barcode scanner: the receipt barcode pattern is empty.",
            "scanner.receipt_pattern",
        )
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationFailed(
                f"Barcode scanner: the receipt barcode pattern {pattern!r} is not a valid regular expression ({exc}).",
                field="scanner.receipt_pattern",
            ) from None
        prefixes = [p.strip() for p in self.loyalty_prefixes.text().split(",") if p.strip()]
        return {
            **current,
            "enabled": enabled,
            "port": port,
            "baud": self.scanner_baud.value(),
            "terminator": str(self.terminator.currentData()),
            "wedge_enabled": self.wedge_enabled.isChecked(),
            "wedge_max_gap_ms": float(self.wedge_gap.value()),
            "wedge_min_length": self.wedge_length.value(),
            "loyalty_prefixes": prefixes,
            "receipt_pattern": pattern,
        }

    def _printer_values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        enabled, kind = self.printer_enabled.isChecked(), str(self.printer_kind.currentData())
        port = self.printer_port.currentText().strip()
        if enabled and kind == "serial":
            _needed(port, "Receipt printer: choose or type the serial port it is on.", "printer.port")
        host = self.printer_host.text().strip()
        if enabled and kind == "network":
            _needed(host, "Receipt printer: type the network printer's address.", "printer.host")
        printer = {
            **current,
            "enabled": enabled,
            "kind": kind,
            "port": port,
            "baud": self.printer_baud.value(),
            "host": host or None,
            "network_port": self.printer_network_port.value(),
            "paper": int(self.paper.currentData()),
            "codes": str(self.codes.currentData()),
        }
        return {k: v for k, v in printer.items() if v is not None}

    def _capture_values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        enabled, mode = self.capture_enabled.isChecked(), str(self.capture_mode.currentData())
        pos_port = self.pos_port.currentText().strip()
        printer_port = self.capture_printer_port.currentText().strip()
        listen_host = self.listen_host.text().strip()
        printer_host = self.capture_printer_host.text().strip()
        if enabled and mode == "serial":
            _needed(pos_port, "Receipt capture: choose or type the port the POS prints to.", "capture.pos_port")
            _needed(printer_port, "Receipt capture: choose or type the printer's port.", "capture.printer_port")
        if enabled and mode == "tcp":
            _needed(listen_host, "Receipt capture: type the address to listen on.", "capture.listen_host")
            _needed(printer_host, "Receipt capture: type the printer's network address.", "capture.printer_host")
        timezone = self.timezone.currentText().strip()
        if timezone:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationFailed(
                    f"Receipt capture: {timezone!r} is not a known time zone (e.g. America/Chicago).",
                    field="capture.timezone",
                ) from None
        capture = {
            **current,
            "enabled": enabled,
            "mode": mode,
            "pos_port": pos_port,
            "printer_port": printer_port,
            "baud": self.capture_baud.value(),
            "listen_host": listen_host,
            "listen_port": self.listen_port.value(),
            "printer_host": printer_host,
            "printer_tcp_port": self.capture_printer_tcp_port.value(),
            "layout": {**current.get("layout", {}), "preset": str(self.layout_preset.currentData())},
            "name": _needed(
                self.capture_name.text().strip(), "Receipt capture: the source name is empty.", "capture.name"
            ),
            "lane": self.capture_lane.text().strip() or "1",
            "timezone": timezone or None,
        }
        return {k: v for k, v in capture.items() if v is not None}
