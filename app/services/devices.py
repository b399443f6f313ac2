"""What the settings screens may know of this machine's devices: the serial ports plugged in now.

The screens reach pyserial only through here; the listing itself lives with the devices
(`app.devices.ports`) and runs off the event loop.
"""

from __future__ import annotations

import asyncio

from app.devices.ports import SerialPort, list_serial_ports


class DeviceService:
    """The lane's device facts the settings window shows."""

    async def serial_ports(self) -> list[SerialPort]:
        """`(device, description)` of every serial port this machine has now, sorted (none if they cannot be listed)."""
        return await asyncio.to_thread(list_serial_ports)
