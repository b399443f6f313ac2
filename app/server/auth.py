"""Who may call `/v1`: a bearer token per API client, the scope each route needs, a request budget per
token, and JSON bodies only.

| route | needs |
| --- | --- |
| `POST /v1/sales` | `sales:write` |
| `GET /v1/receipts/...` | `receipts:read` |
| `POST /v1/customers/devices`, `DELETE /v1/customers/devices/{id}` | `devices:write` |
| `GET /v1/health` | nothing for `{"ok": ...}`; `receipts:read` for the whole health |
| `POST /v1/hub/batches`, `GET /v1/hub/profiles` (a hub) | `hub:sync` |
| `GET /v1/hub/lanes`, `GET /v1/hub/receipts`, `GET /v1/hub/receipts/{id}` (a hub) | `receipts:read` |
| anything else under `/v1` | `admin` |

`admin` implies every scope. A route added under `/v1` and not listed here needs `admin` until it is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.domain.tokens import ApiClient
from app.domain.tokens import Scope as TokenScope
from app.server.guards import header, refuse

CLIENT_KEY = "receiptdesk.api_client"
"""Where the request's `ApiClient` is kept in the ASGI scope once its token is known."""

PREFIX = "/v1"
DEVICES = f"{PREFIX}/customers/devices"
HUB_SETTINGS = f"{PREFIX}/hub/settings/"
SECURITY_SCHEME = "bearer"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_READ_METHODS = frozenset({"GET", "HEAD"})

MISSING = "Send an API token in the Authorization header (Bearer): `receiptdesk tokens create NAME` makes one."
REFUSED = "The API token is not valid or was revoked: ask whoever runs ReceiptDesk for a new one."
NOT_JSON = "Send the body as JSON, with the header Content-Type: application/json."


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> ApiClient | None: ...


class RequestBudget:
    """A token bucket per API client: `per_minute` requests a minute, and up to a minute's worth at once."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str) -> float:
        """Take one request for `client`: 0 when it may go now, else the seconds until it may."""
        now = self._clock()
        tokens, at = self._buckets.get(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + max(0.0, now - at) * self._rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self._rate


def needed_scope(method: str, path: str) -> TokenScope | None:
    """The scope a `/v1` request needs; None for the health, which answers anyone in part."""
    route = path.rstrip("/")
    if method in _READ_METHODS and route == f"{PREFIX}/health":
        return None
    if method == "POST" and route == f"{PREFIX}/sales":
        return TokenScope.SALES_WRITE
    if method in _READ_METHODS and route.startswith(f"{PREFIX}/receipts/"):
        return TokenScope.RECEIPTS_READ
    if method == "POST" and route == f"{PREFIX}/hub/batches":
        return TokenScope.HUB_SYNC
    if method in _READ_METHODS and route == f"{PREFIX}/hub/profiles":
        return TokenScope.HUB_SYNC
    if method in _READ_METHODS and route in (f"{PREFIX}/hub/lanes", f"{PREFIX}/hub/receipts"):
        return TokenScope.RECEIPTS_READ
    if method in _READ_METHODS and route.startswith(HUB_SETTINGS):
        return TokenScope.HUB_SYNC  # or receipts:read (`also_allowed`)
    if (requests := _hub_requests_scope(method, route)) is not None:
        return requests
    if method in _READ_METHODS and route.startswith(f"{PREFIX}/hub/receipts/"):  # one receipt across lanes
        return TokenScope.RECEIPTS_READ
    if (method == "POST" and route == DEVICES) or (method == "DELETE" and route.startswith(f"{DEVICES}/")):
        return TokenScope.DEVICES_WRITE
    return TokenScope.ADMIN


def _hub_requests_scope(method: str, route: str) -> TokenScope | None:
    """`/v1/hub/requests`: asking is `receipts:resend`, reading one `receipts:read`, a lane's side `hub:sync`."""
    base = f"{PREFIX}/hub/requests"
    if route == base and method == "POST":
        return TokenScope.RECEIPTS_RESEND
    if route == base and method in _READ_METHODS:
        return TokenScope.HUB_SYNC
    if route.startswith(f"{base}/") and route.endswith("/outcome") and method == "POST":
        return TokenScope.HUB_SYNC
    if route.startswith(f"{base}/") and method in _READ_METHODS:
        return TokenScope.RECEIPTS_READ
    return None


def also_allowed(method: str, path: str) -> TokenScope | None:
    """A second scope that lets a `/v1` request through besides `needed_scope`'s: a store's settings on the hub
    are read by its lanes (`hub:sync`) and by people and tools that read receipts (`receipts:read`)."""
    if method in _READ_METHODS and path.rstrip("/").startswith(HUB_SETTINGS):
        return TokenScope.RECEIPTS_READ
    return None


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def client_of(request: Request) -> ApiClient | None:
    """The API client that made the request (None when it sent no token)."""
    client = request.scope.get(CLIENT_KEY)
    return client if isinstance(client, ApiClient) else None


def bearer_token(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header."""
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def is_json(content_type: str | None) -> bool:
    """`application/json`, with at most a UTF-8 charset."""
    if content_type is None:
        return False
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    if media != "application/json":
        return False
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


class TokenAuth:
    """Lets a `/v1` request through only with a live token holding the route's scope, within its budget,
    and with a JSON body; anything else is answered here and never reaches a route."""

    def __init__(self, app: ASGIApp, tokens: Authenticator, budget: RequestBudget) -> None:
        self.app = app
        self.tokens = tokens
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        needed = needed_scope(method, scope["path"])
        token = bearer_token(header(scope, b"authorization"))
        client = await self.tokens.authenticate(token) if token is not None else None
        if client is None:
            if token is None and needed is None:  # the bare health
                await self.app(scope, receive, send)
                return
            challenge = 'Bearer error="invalid_token"' if token is not None else "Bearer"
            await refuse(send, 401, REFUSED if token is not None else MISSING, [("WWW-Authenticate", challenge)])
            return
        also = also_allowed(method, scope["path"])
        if needed is not None and not client.allows(needed) and not (also is not None and client.allows(also)):
            await refuse(
                send,
                403,
                f"The API token of {client.name} may not do this: it needs the {needed.value} scope.",
                [("WWW-Authenticate", f'Bearer error="insufficient_scope", scope="{needed.value}"')],
            )
            return
        wait = self.budget.take(client.name)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await refuse(
                send,
                429,
                f"Too many requests with the API token of {client.name}: try again in {seconds} s.",
                [("Retry-After", str(seconds))],
            )
            return
        if method in _BODY_METHODS and not is_json(header(scope, b"content-type")):
            await refuse(send, 415, NOT_JSON)
            return
        scope[CLIENT_KEY] = client
        await self.app(scope, receive, send)


def declare_security(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the bearer scheme, required on `/v1` (optional on the health)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API client's token: `receiptdesk tokens create NAME --scope SCOPE` makes one. "
        f"Scopes: {', '.join(s.value for s in TokenScope)} (all of them).",
    }
    for path, operations in schema.get("paths", {}).items():
        if not is_api_path(path):
            continue
        for method, operation in operations.items():
            needed = needed_scope(method.upper(), path)
            required = {SECURITY_SCHEME: [needed.value] if needed is not None else []}
            operation["security"] = [required] if needed is not None else [{}, required]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "No API token, or one that is not valid or was revoked"})
            if needed is not None:
                responses.setdefault("403", {"description": f"The token lacks the {needed.value} scope"})
            responses.setdefault("429", {"description": "Too many requests with this token; see Retry-After"})
            if method.upper() in _BODY_METHODS:
                responses.setdefault("415", {"description": "The body is not application/json"})
    return schema
