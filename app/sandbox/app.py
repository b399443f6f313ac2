"""The provider sandbox as one ASGI app: provider routes plus the `/_sandbox` inspection API.

Plain Starlette routes and stdlib parsing keep per-request work small (the sandbox has to
outrun the dispatcher in benchmarks).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox import oauth_tokens
from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import FaultConfigError, Faults
from app.sandbox.platforms import orders as platform_orders
from app.sandbox.stand_ins import provider_ids, stand_ins
from app.sandbox.store import MessageStore

DEFAULT_PAGE = 1000


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError is answered with 400 by the caller
    if value < 0:
        raise ValueError(name)
    return value


class Inspection:
    """`/_sandbox/*`: read and clear recorded messages, read and set faults, health."""

    def __init__(self, store: MessageStore, faults: Faults) -> None:
        self.store = store
        self.faults = faults

    async def health(self, request: Request) -> JSONResponse:
        """`GET /_sandbox/health` -> `{"ok": true}`."""
        return JSONResponse({"ok": True})

    async def messages(self, request: Request) -> Response:
        """`GET /_sandbox/messages?provider=&limit=&offset=`; `DELETE` clears them (204).

        `count` is every message accepted since the last clear (matching `provider`), `retained`
        what is still held; `messages` are oldest first.
        """
        if request.method == "DELETE":
            self.store.clear()
            return Response(status_code=204)
        provider = request.query_params.get("provider") or None
        if provider is not None and provider not in provider_ids():
            return _bad_request(f"provider must be one of {sorted(provider_ids())}")
        try:
            limit = _int_param(request, "limit", DEFAULT_PAGE)
            offset = _int_param(request, "offset", 0)
        except ValueError:
            return _bad_request("limit and offset must be non-negative integers")
        page = self.store.messages(provider, limit=limit, offset=offset)
        return JSONResponse(
            {
                "count": self.store.total(provider),
                "retained": self.store.retained(provider),
                "offset": offset,
                "limit": limit,
                "messages": [record.to_dict() for record in page],
            }
        )

    async def faults_endpoint(self, request: Request) -> Response:
        """`GET`/`PUT` (replace)/`PATCH` (merge)/`DELETE` (clear) `/_sandbox/faults`.

        PUT and DELETE release every held request, as does PATCH with `"hold": false`; `held` in
        the answer counts the requests waiting on a hold.
        """
        if request.method == "DELETE":
            self.faults.clear()
            return Response(status_code=204)
        if request.method in ("PUT", "PATCH"):
            try:
                settings: Any = json.loads(await request.body() or b"{}")
                if not isinstance(settings, dict):
                    raise FaultConfigError("body must be a JSON object")
                if request.method == "PUT":
                    self.faults.replace(settings)
                else:
                    self.faults.configure(**settings)
            except (ValueError, TypeError) as exc:  # FaultConfigError and JSON errors are ValueErrors
                return _bad_request(str(exc))
        return JSONResponse(self.faults.to_dict())


def create_sandbox_app(store: MessageStore | None = None, faults: Faults | None = None) -> Starlette:
    """The sandbox ASGI app; `app.state.store` and `app.state.faults` are the live objects."""
    store = store if store is not None else MessageStore()
    faults = faults if faults is not None else Faults()
    callbacks = CallbackSender()
    inspection = Inspection(store, faults)

    async def callback_settings(request: Request) -> Response:
        if request.method == "PUT":
            try:
                callbacks.configure(json.loads(await request.body() or b"{}"))
            except (ValueError, TypeError) as exc:
                return _bad_request(str(exc))
        return JSONResponse(callbacks.to_dict())

    routes = [
        Route("/_sandbox/health", inspection.health, methods=["GET"]),
        Route("/_sandbox/messages", inspection.messages, methods=["GET", "DELETE"]),
        Route("/_sandbox/faults", inspection.faults_endpoint, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/_sandbox/callbacks", callback_settings, methods=["GET", "PUT"]),
    ]
    for stand_in in stand_ins().values():  # every provider's API (app/sandbox/stand_ins.py)
        routes.extend(stand_in.routes(store, faults, callbacks=callbacks))
    routes.extend(oauth_tokens.routes())  # token endpoints of the OAuth providers
    platforms = platform_orders.PlatformStore()
    routes.extend(platform_orders.routes(platforms))  # commerce platform APIs: orders, events
    app = Starlette(routes=routes)
    app.state.platforms = platforms
    app.state.store = store
    app.state.faults = faults
    app.state.callbacks = callbacks
    return app
