"""What every request to the API must look like before anything reads it: a host name this server
answers to (so a web page cannot reach it by DNS rebinding) and no browser origin but the allowed ones
(so a web page cannot post to it across sites).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
"""Host names the API always answers to: this machine."""

_MAX_SHOWN = 100
_MAX_REMEMBERED = 64


def host_name(value: str) -> str:
    """A Host header or a configured name without its port, lower case, IPv6 in brackets: `[::1]`."""
    text = value.strip().lower().rstrip(".")
    if text.startswith("["):
        return text.partition("]")[0] + "]"
    if text.count(":") > 1:  # a bare IPv6 address
        return f"[{text}]"
    name, _, port = text.partition(":")
    return name if port.isdigit() or not port else text


def origin_of(value: str) -> str:
    """An origin as browsers send it: `scheme://host[:port]`, lower case, no default port, no slash."""
    parts = urlsplit(value.strip().lower().rstrip("/"))
    if not parts.scheme or not parts.hostname:
        return value.strip().lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        port = parts.port
    except ValueError:
        return value.strip().lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the API to this machine (`localhost`, 127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """The host names the API answers to and the browser origins it lets in."""

    hosts: frozenset[str]
    origins: frozenset[str]

    @classmethod
    def of(
        cls, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = (), public_url: str | None = None
    ) -> NetworkPolicy:
        """Loopback, `allowed_hosts` and the host of `public_url`; exactly `allowed_origins`."""
        hosts = set(LOOPBACK_NAMES) | {host_name(h) for h in allowed_hosts if h.strip()}
        if public_url:
            netloc = urlsplit(public_url).netloc.rpartition("@")[2]
            if netloc:
                hosts.add(host_name(netloc))
        return cls(frozenset(hosts), frozenset(origin_of(o) for o in allowed_origins if o.strip()))

    def cors_origins(self) -> Sequence[str]:
        return sorted(self.origins)


OPEN_TO_PAGES = "/unsubscribe/"
"""Paths any web page may post to: the unsubscribe page's own button, and a mail app's one-click POST. The
token in the path is the only authority there (no cookie or session rides along), so a cross-site post gains
nothing; the host name is checked all the same."""


class NetworkGuard:
    """Refuses, before the application sees it, a request for another host name (421) and one sent by a
    web page of an origin that is not allowed (403), except on `OPEN_TO_PAGES`. Webhooks are guarded too: a
    provider calls the host of `public_url`, which is allowed."""

    def __init__(self, app: ASGIApp, policy: NetworkPolicy) -> None:
        self.app = app
        self.policy = policy
        self._told: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host")
        if host is None:
            await refuse(send, 400, "The request has no Host header: send the name of the server it is for.")
            return
        name = host_name(host)
        if name not in self.policy.hosts:
            self._tell(name)
            await refuse(
                send,
                421,
                f"This API does not answer to the host name {_shown(name)}: if that is this server's name, "
                "add it to [api] allowed_hosts in the settings.",
            )
            return
        origin = headers.get("origin")
        open_to_pages = str(scope.get("path", "")).startswith(OPEN_TO_PAGES)
        if origin is not None and not open_to_pages and origin_of(origin) not in self.policy.origins:
            await refuse(
                send,
                403,
                f"Requests from web pages at {_shown(origin)} are not allowed: add that origin to "
                "[api] allowed_origins in the settings to allow them.",
            )
            return
        await self.app(scope, receive, send)

    def _tell(self, name: str) -> None:
        """Log a refused host name once (a rebinding page may try many times)."""
        if name in self._told or len(self._told) >= _MAX_REMEMBERED:
            return
        self._told.add(name)
        log.warning(
            "refused a request for the host name %s: add it to [api] allowed_hosts if it is this server's name",
            _shown(name),
        )


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the first of each), decoded as Latin-1 as HTTP defines."""
    found: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        found.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (by lower-case name), or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _shown(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= _MAX_SHOWN else printable[:_MAX_SHOWN] + "..."


async def refuse(send: Send, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
    """Answer `status` with `{"error": message}`, before the application has read anything."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
