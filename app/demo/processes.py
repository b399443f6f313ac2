"""`receiptdesk` commands run as child processes: each in its own process group, its output in a log file.

The demos and the hub benchmark start the sandbox, a hub and lanes this way. A child is ready when its
log shows the line it prints once it serves (`... on http://host:port`); a child that ends first, or
takes too long, fails with one sentence and the end of its log. `stop` ends the child's whole process
group (SIGTERM, then SIGKILL), so nothing it started is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.domain.errors import Unavailable

_NEW_GROUP: int = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)  # Windows' process group; 0 elsewhere
TAIL_LINES = 12
"""How much of a failed child's log an error shows."""


def receiptdesk_command() -> list[str]:
    """How to run `receiptdesk` with this interpreter: the installed script beside it, else `python -m app`."""
    script = Path(sys.executable).with_name("receiptdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def log_tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `log`, or a word that it is empty."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").rstrip()
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


class Child:
    """One `receiptdesk` command in a process group of its own, writing to `log`."""

    def __init__(self, name: str, args: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def spawn(self) -> None:
        """Start the process (without waiting for it to serve)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*receiptdesk_command(), *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=sys.platform != "win32",
                creationflags=_NEW_GROUP,
            )

    async def ready(self, marker: str = " on http", limit_s: float = 90.0) -> str:
        """Wait until the log shows `marker` on a line with the URL it serves on; return that URL."""
        assert self.proc is not None, "spawn first"
        deadline = time.monotonic() + limit_s
        while True:
            url = _served_url(self.log, marker)
            if url is not None:
                self.url = url
                return url
            if self.proc.poll() is not None:
                raise Unavailable(
                    f"The {self.name} process ended before it served (exit {self.proc.returncode}); "
                    f"the end of its log:\n{log_tail(self.log)}"
                )
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"The {self.name} process did not serve within {limit_s:.0f} s; "
                    f"the end of its log:\n{log_tail(self.log)}"
                )
            await asyncio.sleep(0.05)

    async def start(self, marker: str = " on http", limit_s: float = 90.0) -> str:
        self.spawn()
        return await self.ready(marker, limit_s)

    def stop(self, grace: float = 15.0) -> None:
        """End the child's process group: SIGTERM, then SIGKILL after `grace` seconds."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, graceful=True)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, graceful=False)
                proc.wait(5)
        elif sys.platform != "win32":  # the leader is gone: end anything left in its group
            _signal_group(proc, graceful=False)


def stop_all(children: Sequence[Child], grace: float = 15.0) -> None:
    """Ask every child to end at once, then wait for each (SIGKILL for one that outlasts `grace`)."""
    for child in children:
        if child.proc is not None and child.proc.poll() is None:
            _signal_group(child.proc, graceful=True)
    for child in children:
        child.stop(grace)


def _served_url(log: Path, marker: str) -> str | None:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if marker in line:
            for word in line.split():
                if word.startswith(("http://", "https://")):
                    return word.rstrip("/.,)")
    return None


def _signal_group(proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
    if sys.platform == "win32":
        if graceful:
            proc.terminate()
        else:
            proc.kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
