"""The barcode scanner's settings: a serial scanner, a keyboard-wedge one, and what its codes mean."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QWidget

from app.config.settings import ScannerSettings
from app.domain.errors import ValidationFailed
from app.ui.settings.device_fields import choose, combo, line, needed, port_combo, spin

TERMINATORS = (("CR", "CR (carriage return)"), ("LF", "LF (line feed)"), ("CRLF", "CRLF (both)"))


class ScannerGroup(QGroupBox):
    """The `[scanner]` section: port, speed and line end, the wedge's timing, loyalty prefixes, receipt pattern."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Barcode scanner", parent)
        self.form = form = QFormLayout(self)
        self.enabled = QCheckBox("Read a scanner on a serial port")
        self.enabled.setAccessibleName("Serial barcode scanner")
        self.port = port_combo("Scanner port")
        self.baud = spin(ScannerSettings, "baud", "Scanner baud rate")
        self.terminator = combo("Scanner terminator", TERMINATORS)
        self.wedge_enabled = QCheckBox("Tell a keyboard-wedge scanner's bursts from typing")
        self.wedge_enabled.setAccessibleName("Keyboard-wedge scanner")
        self.wedge_gap = spin(ScannerSettings, "wedge_max_gap_ms", "Longest gap between scanned keys", " ms")
        self.wedge_length = spin(ScannerSettings, "wedge_min_length", "Shortest scanned code")
        self.loyalty_prefixes = line("Loyalty card prefixes", "comma separated, e.g. 4000, LC")
        self.receipt_pattern = line("Receipt barcode pattern", "a regular expression with a group sale_id")
        form.addRow(self.enabled)
        form.addRow("Port", self.port)
        form.addRow("Baud rate", self.baud)
        form.addRow("Line ends with", self.terminator)
        form.addRow(self.wedge_enabled)
        form.addRow("Longest gap between keys", self.wedge_gap)
        form.addRow("Shortest code", self.wedge_length)
        form.addRow("Loyalty card prefixes", self.loyalty_prefixes)
        form.addRow("Receipt barcode pattern", self.receipt_pattern)

    @property
    def ports(self) -> tuple[QComboBox, ...]:
        """The fields that take a serial port."""
        return (self.port,)

    def load(self, settings: ScannerSettings) -> None:
        """Show the scanner settings."""
        self.enabled.setChecked(settings.enabled)
        self.port.setEditText(settings.port)
        self.baud.setValue(settings.baud)
        named = settings.terminator.strip().upper()
        choose(self.terminator, named if self.terminator.findData(named) >= 0 else settings.terminator)
        self.wedge_enabled.setChecked(settings.wedge_enabled)
        self.wedge_gap.setValue(round(settings.wedge_max_gap_ms))
        self.wedge_length.setValue(settings.wedge_min_length)
        self.loyalty_prefixes.setText(", ".join(settings.loyalty_prefixes))
        self.receipt_pattern.setText(settings.receipt_pattern)

    def values(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The `[scanner]` section of `current` with this group's changes.

        Raises `ValidationFailed` for a port left empty or a receipt pattern that is not a regular expression.
        """
        enabled = self.enabled.isChecked()
        port = self.port.currentText().strip()
        if enabled:
            needed(port, "Barcode scanner: choose or type the serial port it is on.", "scanner.port")
        pattern = needed(
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
            "baud": self.baud.value(),
            "terminator": str(self.terminator.currentData()),
            "wedge_enabled": self.wedge_enabled.isChecked(),
            "wedge_max_gap_ms": float(self.wedge_gap.value()),
            "wedge_min_length": self.wedge_length.value(),
            "loyalty_prefixes": prefixes,
            "receipt_pattern": pattern,
        }
