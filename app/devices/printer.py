"""Receipt printers: a serial line, a raw TCP socket (port 9100), and a dummy that records bytes.

The shape is python-escpos's: `open`, `close`, `write`, `read`, plus `status()` (the printer's
real-time status over `DLE EOT`) and `print_job()` (check status, then write). Every call blocks:
callers on the event loop run them with `asyncio.to_thread`.

Errors: `PrinterUnreachable` when the port or connection cannot be opened or the printer does not
answer (off, unplugged); `PrinterNotReady` when it answers with a condition (off-line, cover open,
out of paper). Both are worth trying again once someone has seen to the printer.
"""

from __future__ import annotations

import socket
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

import serial

from app.devices.escpos import (
    STATUS_OFFLINE_CAUSE,
    STATUS_OK,
    STATUS_PAPER,
    STATUS_PRINTER,
    STATUS_QUERIES,
    PrinterStatus,
    parse_status,
    status_query,
    valid_status_byte,
)
from app.domain.errors import ReceiptDeskError

DEFAULT_TIMEOUT = 2.0


class PrinterError(ReceiptDeskError):
    """The receipt printer cannot print now."""


class PrinterUnreachable(PrinterError):
    """The printer's port cannot be opened, or the printer does not answer."""


class PrinterNotReady(PrinterError):
    """The printer answered, reporting a condition that stops printing."""

    def __init__(self, status: PrinterStatus) -> None:
        super().__init__(status.problem or "The receipt printer is not ready.")
        self.status = status


class Printer(ABC):
    """One receipt printer. `open()` before use, `close()` after; also a context manager."""

    name: str = "printer"
    check_status: bool = True

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes from the printer; empty when it said nothing before the timeout."""

    def discard_input(self) -> None:
        """Forget bytes the printer sent earlier, so a status reply is not confused with them."""
        return None

    def __enter__(self) -> Printer:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def status(self) -> PrinterStatus:
        """Ask the printer how it is (DLE EOT 1, 2 and 4)."""
        self.discard_input()
        replies: dict[int, int] = {}
        for n in STATUS_QUERIES:
            self.write(status_query(n))
            reply = self.read(1)
            if not reply:
                raise PrinterUnreachable(
                    f"The receipt printer ({self.name}) does not answer: check it is switched on and plugged in."
                )
            if not valid_status_byte(reply[0]):
                raise PrinterUnreachable(
                    f"The receipt printer ({self.name}) gave an unexpected answer: check the port and baud rate."
                )
            replies[n] = reply[0]
        return parse_status(replies[STATUS_PRINTER], replies[STATUS_OFFLINE_CAUSE], replies[STATUS_PAPER])

    def print_job(self, data: bytes) -> PrinterStatus | None:
        """Open, check the status (when `check_status`), write `data`, close. Returns the status seen."""
        with self:
            status = self.status() if self.check_status else None
            if status is not None and status.problem:
                raise PrinterNotReady(status)
            self.write(data)
        return status


class SerialPrinter(Printer):
    """A printer on a serial port (RS-232 or a USB virtual COM port). `port` may be a pyserial URL."""

    def __init__(
        self,
        port: str,
        baudrate: int = 19200,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        check_status: bool = True,
        dsrdtr: bool = False,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.check_status = check_status
        self.dsrdtr = dsrdtr
        self.name = port
        self._serial: serial.Serial | None = None

    def open(self) -> None:
        if self._serial is not None:
            return
        try:
            self._serial = serial.serial_for_url(  # a URL (loop://, rfc2217://) or a device path
                self.port,
                baudrate=self.baudrate,
                timeout=self.timeout,
                write_timeout=max(self.timeout, 10.0),
                dsrdtr=self.dsrdtr,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PrinterUnreachable(f"The receipt printer port {self.port} cannot be opened: {exc}") from exc

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.flush()
            finally:
                self._serial.close()
                self._serial = None

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise PrinterUnreachable(f"The receipt printer port {self.port} is not open.")
        return self._serial

    def write(self, data: bytes) -> None:
        try:
            self._port().write(data)
        except serial.SerialTimeoutException as exc:
            raise PrinterUnreachable(
                f"The receipt printer on {self.port} stopped taking data: is it busy or off?"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise PrinterUnreachable(f"Writing to the receipt printer on {self.port} failed: {exc}") from exc

    def read(self, size: int = 1) -> bytes:
        try:
            return bytes(self._port().read(size))
        except (serial.SerialException, OSError) as exc:
            raise PrinterUnreachable(f"Reading from the receipt printer on {self.port} failed: {exc}") from exc

    def discard_input(self) -> None:
        self._port().reset_input_buffer()


class NetworkPrinter(Printer):
    """A printer taking raw ESC/POS on a TCP port (9100 on most Ethernet/Wi-Fi printers)."""

    def __init__(
        self, host: str, port: int = 9100, *, timeout: float = DEFAULT_TIMEOUT, check_status: bool = True
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.check_status = check_status
        self.name = f"{host}:{port}"
        self._socket: socket.socket | None = None

    def open(self) -> None:
        if self._socket is not None:
            return
        try:
            self._socket = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise PrinterUnreachable(f"The receipt printer at {self.name} cannot be reached: {exc}") from exc

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _conn(self) -> socket.socket:
        if self._socket is None:
            raise PrinterUnreachable(f"The receipt printer at {self.name} is not connected.")
        return self._socket

    def write(self, data: bytes) -> None:
        try:
            self._conn().sendall(data)
        except OSError as exc:
            raise PrinterUnreachable(f"Sending to the receipt printer at {self.name} failed: {exc}") from exc

    def read(self, size: int = 1) -> bytes:
        try:
            return self._conn().recv(size)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise PrinterUnreachable(f"Reading from the receipt printer at {self.name} failed: {exc}") from exc


class DummyPrinter(Printer):
    """A printer in memory: `output` holds every byte printed (status queries apart, in `queries`).

    It answers status queries from `replies` (by DLE EOT n); `unplug()` makes it answer nothing,
    `paper_out()`, `cover_open()` and `ready()` set what it reports. With `spool`, each job is also
    appended to that file, so the bytes can be inspected (or replayed to a real printer) later.
    """

    def __init__(self, *, spool: Path | None = None, name: str = "dummy") -> None:
        self.name = name
        self.spool = spool
        self.replies: dict[int, int] = {}
        self.answering = True
        self.output = b""
        self.queries: list[int] = []
        self.jobs = 0
        self.is_open = False
        self._pending = bytearray()
        self._job = bytearray()
        self._lock = threading.Lock()
        self.ready()

    def ready(self) -> None:
        self.answering = True
        self.replies = {n: STATUS_OK for n in STATUS_QUERIES}

    def paper_out(self) -> None:
        self.replies = {
            STATUS_PRINTER: STATUS_OK | 0x08,
            STATUS_OFFLINE_CAUSE: STATUS_OK | 0x20,
            STATUS_PAPER: STATUS_OK | 0x60,
        }

    def cover_open(self) -> None:
        self.replies = {
            STATUS_PRINTER: STATUS_OK | 0x08,
            STATUS_OFFLINE_CAUSE: STATUS_OK | 0x04,
            STATUS_PAPER: STATUS_OK,
        }

    def unplug(self) -> None:
        self.answering = False

    def open(self) -> None:
        self._lock.acquire()
        self.is_open = True
        self._job.clear()

    def close(self) -> None:
        if not self.is_open:
            return
        try:
            if self._job:
                self.output += bytes(self._job)
                self.jobs += 1
                if self.spool is not None:
                    self.spool.parent.mkdir(parents=True, exist_ok=True)
                    with self.spool.open("ab") as f:
                        f.write(self._job)
            self._job.clear()
            self._pending.clear()
        finally:
            self.is_open = False
            self._lock.release()

    def write(self, data: bytes) -> None:
        if not self.is_open:
            raise PrinterUnreachable(f"The receipt printer ({self.name}) is not open.")
        if len(data) == 3 and data[:2] == status_query(0)[:2]:
            self.queries.append(data[2])
            if self.answering:
                self._pending.append(self.replies.get(data[2], STATUS_OK))
            return
        self._job.extend(data)

    def read(self, size: int = 1) -> bytes:
        taken = bytes(self._pending[:size])
        del self._pending[:size]
        return taken

    def discard_input(self) -> None:
        self._pending.clear()

    def clear(self) -> None:
        """Forget what was printed."""
        self.output = b""
        self.jobs = 0
        self.queries.clear()
