"""The serial ports this machine has now, as pyserial lists them (for the settings screen's port lists)."""

from __future__ import annotations

from typing import NamedTuple

from serial.tools import list_ports


class SerialPort(NamedTuple):
    """A serial port: the name to open it by, and what the system says it is."""

    device: str
    description: str


def list_serial_ports() -> list[SerialPort]:
    """The serial ports plugged in now, sorted by name; none when they cannot be listed.

    Blocking: call it off the event loop.
    """
    try:
        found = list_ports.comports()
    except OSError:
        return []
    return sorted(SerialPort(port.device, port.description or "") for port in found)
