"""One ReceiptDesk per data folder: `serve`, the kiosk and the demo hold `receiptdesk.lock` while they run.

The lock is the operating system's (`flock` on POSIX, `msvcrt.locking` on Windows), so it ends with
its process however that process ends: a file left by a killed process blocks nobody. The file
holds the holder's process id and command line, which a second start names when it is refused.
Tools that only read or queue work (`receipts list`, `queue status`, `audit verify`...) take no lock
and run beside a holder.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path
from types import TracebackType

from app.domain.errors import ConfigurationError, InstanceBusy

LOCK_FILE = "receiptdesk.lock"
_LOCKED_BYTE = 1 << 20
"""Windows locks a byte range, which then cannot be read: the one locked lies past the text."""


class InstanceLock:
    """The data folder's lock; `acquire` raises `InstanceBusy` naming the holder when another has it."""

    def __init__(self, folder: Path, command: str | None = None) -> None:
        self.path = folder / LOCK_FILE
        self._command = command or shlex.join(["receiptdesk", *sys.argv[1:]])
        self._fd: int | None = None

    def acquire(self) -> InstanceLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigurationError(f"Cannot write in the data folder {self.path.parent}: {exc.strerror}.") from exc
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            holder = read_holder(self.path)
            who = f"pid {holder}" if holder else "another process"
            raise InstanceBusy(
                f"Another ReceiptDesk ({who}) is using the data folder {self.path.parent}. "
                "Stop it first, or give this one its own --data-dir.",
                holder,
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n{self._command}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the lock goes with the descriptor; an empty file names nobody
        os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def read_holder(path: Path) -> str | None:
    """`1234, receiptdesk serve` from a lock file: who holds it, or None when it names nobody."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None
    pid = lines[0].strip()
    return f"{pid}, `{lines[1].strip()}`" if len(lines) > 1 and lines[1].strip() else pid


def _lock(fd: int) -> None:
    """Take the OS lock on `fd` without waiting; OSError when another process has it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
