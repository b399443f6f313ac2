"""A listening TCP socket that no other process can share, on POSIX and on Windows alike.

The two families of systems mean opposite things by the same option. On POSIX, `SO_REUSEADDR`
only lets a restarted server bind while old connections linger in TIME_WAIT; a second listener on
the same port is still refused. On Windows, `SO_REUSEADDR` lets any other process bind the same
port and steal its connections (a POS's sales), so Windows gets `SO_EXCLUSIVEADDRUSE` instead.
The socket is listening when returned, so a port in use fails here, not later in a server task.
"""

from __future__ import annotations

import socket
import sys

WINDOWS_SO_EXCLUSIVEADDRUSE = ~4
"""Winsock's value (`~SO_REUSEADDR`); the `socket` module only has the name on Windows."""

BACKLOG = 128


def exclusive_address_option(platform: str | None = None) -> tuple[int, int]:
    """The (option, value) under `SOL_SOCKET` that keeps a listening port to this process on `platform`."""
    if (platform or sys.platform) == "win32":
        return getattr(socket, "SO_EXCLUSIVEADDRUSE", WINDOWS_SO_EXCLUSIVEADDRUSE), 1
    return socket.SO_REUSEADDR, 1


def listening_socket(host: str, port: int, *, backlog: int = BACKLOG) -> socket.socket:
    """A TCP socket bound to host:port (0 picks a free port) and listening; `OSError` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP,
    # and without it Nagle + delayed ACKs cap each keep-alive connection at ~25 requests/s.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        option, value = exclusive_address_option()
        sock.setsockopt(socket.SOL_SOCKET, option, value)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
