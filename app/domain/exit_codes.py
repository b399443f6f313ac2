"""What the exit status of `receiptdesk` means: one table, for scripts, service managers and the README.

0 to 3 are what the command line has always answered (2 is argparse's own for a command line it
cannot read). The others are the BSD `sysexits.h` numbers, which systemd names in
`systemctl status` (`status=75/TEMPFAIL`), so a hub's service shows why it stopped.
"""

from __future__ import annotations

from enum import IntEnum

from app.domain.errors import InstanceBusy, ReceiptDeskError, Unavailable


class ExitCode(IntEnum):
    OK = 0
    """Done."""
    FAILED = 1
    """Refused or failed, and the line says why: the settings, a secret, the data folder, a bad value,
    something not found, a delivery that did not go out."""
    USAGE = 2
    """The command line itself cannot be read: an unknown command or option, a value out of range."""
    AUDIT_BROKEN = 3
    """`audit verify` found the hash chain broken: an entry was edited or deleted."""
    UNAVAILABLE = 69
    """Something it needs cannot be reached now: the database server, a display for the kiosk, the API
    port (in use). Starting again later may work."""
    INTERNAL = 70
    """An unexpected error: a fault in ReceiptDesk. The log file has the traceback."""
    BUSY = 75
    """Another ReceiptDesk process holds the data folder; the line says which one."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C."""


SUMMARY = {
    ExitCode.OK: "done",
    ExitCode.FAILED: "failed, the line says why",
    ExitCode.USAGE: "the command line cannot be read",
    ExitCode.AUDIT_BROKEN: "the audit chain is broken",
    ExitCode.UNAVAILABLE: "the database server, a display or the port is unavailable",
    ExitCode.INTERNAL: "unexpected error, the log has the traceback",
    ExitCode.BUSY: "another ReceiptDesk holds the data folder",
    ExitCode.INTERRUPTED: "interrupted",
}
"""Each exit status in a few words, for `receiptdesk --help`."""


def exit_code_for(error: ReceiptDeskError) -> ExitCode:
    """The exit status of a command that failed with `error`."""
    if isinstance(error, InstanceBusy):
        return ExitCode.BUSY
    if isinstance(error, Unavailable):
        return ExitCode.UNAVAILABLE
    return ExitCode.FAILED
