"""The fields the device groups of the settings screen are built from, and their small rules.

A spin box takes its bounds from the settings model, a port list may be typed into (a port not
plugged in yet, a pyserial URL), a value the list lacks is kept rather than lost, and a field that
must not be empty says which section and field it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox

from app.domain.errors import ValidationFailed

PORT_HINT = "/dev/ttyACM0, COM3 or a pyserial URL"


def spin(model: type[BaseModel], name: str, label: str, suffix: str = "") -> QSpinBox:
    """A spin box holding the bounds the settings model puts on `name`."""
    low, high = 0, 2**31 - 1
    for bound in model.model_fields[name].metadata:
        if hasattr(bound, "ge"):
            low = int(bound.ge)
        if hasattr(bound, "gt"):
            low = int(bound.gt) + 1
        if hasattr(bound, "le"):
            high = int(bound.le)
    box = QSpinBox()
    box.setRange(low, high)
    box.setSuffix(suffix)
    box.setAccessibleName(label)
    return box


def combo(label: str, choices: Iterable[tuple[object, str]]) -> QComboBox:
    """A fixed list of `(value, text)` choices."""
    box = QComboBox()
    box.setAccessibleName(label)
    for value, text in choices:
        box.addItem(text, value)
    return box


def line(label: str, placeholder: str = "") -> QLineEdit:
    """A one-line text field."""
    field = QLineEdit()
    field.setAccessibleName(label)
    field.setPlaceholderText(placeholder)
    return field


def editable_combo(label: str, placeholder: str = "") -> QComboBox:
    """A list the person may also type into; typing never adds to the list."""
    box = QComboBox()
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.setLineEdit(line(label, placeholder))
    box.setAccessibleName(label)
    return box


def port_combo(label: str) -> QComboBox:
    """A port list the person may also type into (a port not plugged in yet, a pyserial URL)."""
    return editable_combo(label, PORT_HINT)


def list_ports(box: QComboBox, ports: Iterable[tuple[str, str]]) -> None:
    """Offer these `(device, description)` ports; what the field holds stays."""
    text = box.currentText()
    box.clear()
    for device, description in ports:
        box.addItem(device)
        box.setItemData(box.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
    box.setEditText(text)


def choose(box: QComboBox, value: object) -> None:
    """Select `value`; one the list lacks (written by hand in the file) is added, so it is kept."""
    index = box.findData(value)
    if index < 0:
        box.addItem(str(value), value)
        index = box.count() - 1
    box.setCurrentIndex(index)


def needed(text: str, message: str, field: str) -> str:
    """`text`, or `ValidationFailed(message)` naming `field` when it is empty."""
    if not text:
        raise ValidationFailed(message, field=field)
    return text
