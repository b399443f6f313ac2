"""Barcode scanners on a serial line (RS-232, USB-serial such as /dev/ttyACM0 or COM3, pyserial URLs).

python-escpos shape: `open()`, `close()`, `read()`, `write()`. `read()` blocks for at most the
read timeout and returns the complete codes that arrived; a partial line waits in the buffer for
the rest. Call it from a worker thread, never on the event loop. `DummyScanner` is the twin for
tests: bytes are fed in, writes are recorded, unplugging is one call.
"""

from __future__ import annotations

import codecs
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

import serial

from app.domain.errors import ReceiptDeskError

log = logging.getLogger(__name__)

TERMINATORS: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
MAX_LINE_BYTES = 256
"""A line longer than this without a terminator is noise (wrong baud rate, wrong terminator)."""


class ScannerError(ReceiptDeskError):
    """The scanner cannot be opened or stopped answering (unplugged, wrong port, no permission)."""


def parse_terminator(text: str) -> bytes:
    """`CR`, `LF`, `CRLF`, or a custom terminator written with escapes (`\\x03`, `\\t`)."""
    named = TERMINATORS.get(text.strip().upper())
    if named is not None:
        return named
    try:
        value = codecs.decode(text, "unicode_escape").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise ValueError(f"The scanner terminator {text!r} is not CR, LF, CRLF or a byte escape like \\x03.") from None
    if not value:
        raise ValueError("The scanner terminator is empty.")
    return value


class LineBuffer:
    """Splits the bytes a scanner sends into codes; drops lines holding junk, with a log line saying why.

    CR and LF around a code are stripped whatever the terminator, so a scanner sending CRLF to a
    port set up for CR still reads cleanly.
    """

    def __init__(self, terminator: bytes = b"\r", *, max_line: int = MAX_LINE_BYTES, port: str = "scanner") -> None:
        if not terminator:
            raise ValueError("The scanner terminator is empty.")
        self._terminator = terminator
        self._max_line = max_line
        self._port = port
        self._pending = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes of a line not yet terminated."""
        return bytes(self._pending)

    def clear(self) -> None:
        """Forget a partial line (after the scanner was unplugged)."""
        self._pending.clear()

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return every code completed by them."""
        self._pending += data
        codes: list[str] = []
        while True:
            end = self._pending.find(self._terminator)
            if end < 0:
                break
            line = bytes(self._pending[:end])
            del self._pending[: end + len(self._terminator)]
            code = self._accept(line)
            if code is not None:
                codes.append(code)
        if len(self._pending) > self._max_line:
            log.warning(
                "scanner %s: dropped %d bytes without a line terminator (check the terminator and baud rate)",
                self._port,
                len(self._pending),
            )
            self._pending.clear()
        return codes

    def _accept(self, line: bytes) -> str | None:
        line = line.strip(b"\r\n")
        if not line:
            return None
        junk = [b for b in line if not 0x20 <= b <= 0x7E]
        if junk:
            log.warning(
                "scanner %s: rejected a line with %d non-printable byte(s) %s: %r (check the baud rate)",
                self._port,
                len(junk),
                " ".join(f"{b:02x}" for b in junk[:8]),
                line[:64],
            )
            return None
        code = line.decode("ascii").strip()
        return code or None


class ScannerDevice(Protocol):
    """What the scanning service needs from a scanner."""

    @property
    def name(self) -> str: ...

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self) -> list[str]: ...

    def write(self, data: bytes) -> None: ...


SerialFactory = Callable[..., Any]


class SerialScanner:
    """A scanner on a serial port or pyserial URL (`/dev/ttyACM0`, `COM3`, `loop://`, `socket://host:port`)."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        terminator: bytes = b"\r",
        timeout: float = 0.2,
        factory: SerialFactory = serial.serial_for_url,
    ) -> None:
        self._port = port
        self._baudrate = baudrate
        self._timeout = timeout
        self._factory = factory
        self._serial: Any = None
        self._buffer = LineBuffer(terminator, port=port)

    @property
    def name(self) -> str:
        return self._port

    @property
    def is_open(self) -> bool:
        return self._serial is not None and bool(self._serial.is_open)

    def open(self) -> None:
        """Open the port; `ScannerError` when it is absent, busy or not allowed."""
        if self.is_open:
            return
        try:
            self._serial = self._factory(self._port, baudrate=self._baudrate, timeout=self._timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._serial = None
            raise ScannerError(f"The scanner on {self._port} cannot be opened: {exc}") from exc
        self._buffer.clear()

    def close(self) -> None:
        """Close the port (twice is fine)."""
        port, self._serial = self._serial, None
        self._buffer.clear()
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("scanner %s: error while closing: %s", self._port, exc)

    def read(self) -> list[str]:
        """Wait up to the timeout for bytes; the codes they complete. `ScannerError` when unplugged."""
        port = self._serial
        if port is None:
            raise ScannerError(f"The scanner on {self._port} is not open.")
        try:
            data: bytes = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise ScannerError(f"The scanner on {self._port} stopped answering: {exc}") from exc
        return self._buffer.feed(data) if data else []

    def write(self, data: bytes) -> None:
        """Send bytes to the scanner (a configuration or beep command)."""
        port = self._serial
        if port is None:
            raise ScannerError(f"The scanner on {self._port} is not open.")
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise ScannerError(f"The scanner on {self._port} stopped answering: {exc}") from exc


class DummyScanner:
    """A scanner for tests: `feed()` bytes in, `unplug()`/`replug()`, writes kept in `output`."""

    def __init__(self, *, terminator: bytes = b"\r", timeout: float = 0.05, name: str = "dummy") -> None:
        self._name = name
        self._timeout = timeout
        self._buffer = LineBuffer(terminator, port=name)
        self._incoming: queue.Queue[bytes] = queue.Queue()
        self._lock = threading.Lock()
        self._open = False
        self.plugged = True
        self.output = bytearray()
        self.opened = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_open(self) -> bool:
        return self._open

    def feed(self, data: bytes) -> None:
        """Bytes the scanner sends (any thread)."""
        self._incoming.put(data)

    def unplug(self) -> None:
        """The cable is pulled: reads fail, opening fails."""
        with self._lock:
            self.plugged = False

    def replug(self) -> None:
        """The cable is back."""
        with self._lock:
            self.plugged = True

    def open(self) -> None:
        with self._lock:
            if not self.plugged:
                raise ScannerError(f"The scanner on {self._name} cannot be opened: not connected")
            self._open = True
            self.opened += 1
        self._buffer.clear()

    def close(self) -> None:
        with self._lock:
            self._open = False

    def read(self) -> list[str]:
        with self._lock:
            if not self._open or not self.plugged:
                raise ScannerError(f"The scanner on {self._name} stopped answering")
        try:
            data = self._incoming.get(timeout=self._timeout)
        except queue.Empty:
            return []
        return self._buffer.feed(data)

    def write(self, data: bytes) -> None:
        with self._lock:
            if not self._open:
                raise ScannerError(f"The scanner on {self._name} is not open.")
        self.output += data
