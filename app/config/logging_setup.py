"""Where ReceiptDesk logs and how: a rotating file, and standard error (which journald keeps on a hub).

The log file is `receiptdesk.log` in, first found:

1. `--log-dir`, or `RECEIPTDESK_LOG_DIR`;
2. `logs/` in the data folder, when one is given (`--data-dir` or `RECEIPTDESK_DATA_DIR`): such a run
   is an installation of its own (a hub's state directory, a demo, a test), so its log stays with its
   data, goes with it when it is backed up or removed, and never mixes with another installation's;
   a service user without a home folder can write there and nowhere else;
3. the platform log folder: `~/.local/state/receiptdesk/log` on Linux, `~/Library/Logs/receiptdesk`
   on macOS, `%LOCALAPPDATA%\\receiptdesk\\Logs` on Windows.

A place that cannot be written is skipped for the next one. The file is created on the first record,
so a command that logs nothing leaves no file (the folder of 1 or 2 is made at once, to try it).
Only the long-running process that holds the data folder (`serve`, the kiosk, the demo) rotates it;
every other command appends.

Standard error gets one line per record, even for an exception (its type and message); the file gets
the traceback. `json=True` writes one JSON object per line to both, with any `extra=` fields of the
record as keys of their own.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from platformdirs import user_log_dir

from app.config.paths import APP

LOG_FILE = "receiptdesk.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
QUIET_LIBRARIES = ("httpx", "httpcore", "hpack", "asyncio", "urllib3", "keyring", "alembic")
"""Libraries whose INFO lines (one per HTTP request...) would drown ReceiptDesk's own with `-v`."""

CONSOLE = "console"
"""`extra={CONSOLE: False}` keeps a record out of standard error (the CLI prints its own line for it)."""

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", CONSOLE}


def log_dirs(log_dir: Path | None = None, data_dir: Path | None = None) -> list[Path]:
    """The folders to try, in order (see the module's text)."""
    return [*_given_dir(log_dir, data_dir), Path(user_log_dir(APP, appauthor=False))]


def _given_dir(log_dir: Path | None, data_dir: Path | None) -> list[Path]:
    chosen = log_dir or os.environ.get("RECEIPTDESK_LOG_DIR") or None
    data = data_dir or os.environ.get("RECEIPTDESK_DATA_DIR") or None
    return [Path(chosen).expanduser()] if chosen else [Path(data).expanduser() / "logs"] if data else []


def writable(folder: Path, *, make: bool = False) -> bool:
    """Whether a log file can be created or appended to in `folder`; `make` creates the folder to be sure."""
    if make:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        return False
    file = folder / LOG_FILE
    return probe != folder or not file.exists() or (file.is_file() and os.access(file, os.W_OK))


def configure(
    *,
    verbosity: int = 0,
    json_lines: bool = False,
    log_dir: Path | None = None,
    data_dir: Path | None = None,
    rotate: bool = False,
    stream: TextIO | None = None,
) -> Path | None:
    """Send logging to standard error and the log file; the file's path (None when nowhere is writable).

    `verbosity` 0 logs warnings and errors, 1 (`-v`) adds one line per sale received and per delivery
    settled, 2 (`-vv`) adds debugging lines and the HTTP libraries' own.
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbosity >= 2 else logging.WARNING)

    logging.captureWarnings(True)  # a library's warning is a log line too, not three lines of source
    threading.excepthook = _thread_failed
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(JsonFormatter(tracebacks=False) if json_lines else OneLineFormatter())
    console.addFilter(lambda record: getattr(record, CONSOLE, True))
    root.addHandler(console)

    given = _given_dir(log_dir, data_dir)
    folder = next((d for d in log_dirs(log_dir, data_dir) if writable(d, make=d in given)), None)
    if folder is None:
        return None
    file = folder / LOG_FILE
    handler = LogFile(file, max_bytes=MAX_BYTES if rotate else 0)
    handler.setFormatter(
        JsonFormatter(tracebacks=True)
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")
    )
    root.addHandler(handler)
    return file


def _thread_failed(failure: threading.ExceptHookArgs) -> None:
    """An exception that ends a thread: logged (one line on standard error), not printed as a traceback."""
    if failure.exc_type is SystemExit:
        return
    name = failure.thread.name if failure.thread is not None else "?"
    exc_info = (failure.exc_type, failure.exc_value or failure.exc_type(), failure.exc_traceback)
    logging.getLogger("receiptdesk").error("thread %s failed", name, exc_info=exc_info)


class LogFile(logging.handlers.RotatingFileHandler):
    """The log file: its folder made on the first record; a failure to write never reaches the screen."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=BACKUPS, encoding="utf-8", delay=True)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:
        """A full disk or a file taken away loses the record, quietly: logging must not stop the work."""


class OneLineFormatter(logging.Formatter):
    """`LEVEL logger: message`, an exception as `(Type: message)` on the same line; journald adds the time."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {exc})" if str(exc) else f" ({type(exc).__name__})"
        return " ".join(text.split())


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, pid, message, the record's extra fields."""

    def __init__(self, *, tracebacks: bool) -> None:
        super().__init__()
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry |= {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error"] = f"{type(exc).__name__}: {exc}"
            if self._tracebacks:
                entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
