"""The provider sandbox as one ASGI app: provider routes plus the `/_sandbox` inspection API.

Plain Starlette routes and stdlib parsing keep per-request work small (the sandbox has to
outrun the dispatcher in benchmarks).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox import oauth_tokens
from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import FaultConfigError, Faults
from app.sandbox.platforms import orders as platform_orders
from app.sandbox.stand_ins import provider_ids, stand_ins
from app.sandbox.store import MessageRecord, MessageStore

DEFAULT_PAGE = 1000
COUNT_KEYS = ("reference", "idempotency_key", "to", "body", "subject")
"""What `GET /_sandbox/messages/counts` can count messages by (`by=`)."""


def reference_of(record: MessageRecord, by: str = "reference") -> str | None:
    """The value `record` is counted under: its idempotency key, first recipient, body or subject.

    `reference` is the delivery's own reference: the idempotency key the adapter sent, or, for a
    provider that carries none (Twilio), the first recipient.
    """
    if by == "reference":
        return record.idempotency_key or (record.to[0] if record.to else None)
    if by == "to":
        return record.to[0] if record.to else None
    if by == "body":
        return record.body if record.body is not None else record.text
    value = getattr(record, by)
    return value if isinstance(value, str) else None


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

    async def message_counts(self, request: Request) -> JSONResponse:
        """`GET /_sandbox/messages/counts?provider=&by=`: how many messages each reference got.

        `by` is one of `COUNT_KEYS` (default `reference`: the idempotency key, else the first
        recipient); `counts` maps each value to the messages recorded under it (a count above 1 is a
        message the customer got more than once); `total` counts the messages looked at (retained ones).
        """
        provider = request.query_params.get("provider") or None
        if provider is not None and provider not in provider_ids():
            return _bad_request(f"provider must be one of {sorted(provider_ids())}")
        by = request.query_params.get("by") or "reference"
        if by not in COUNT_KEYS:
            return _bad_request(f"by must be one of {', '.join(COUNT_KEYS)}")
        counts: Counter[str] = Counter()
        total = 0
        for record in self.store:
            if provider is not None and record.provider != provider:
                continue
            total += 1
            value = reference_of(record, by)
            if value is not None:
                counts[value] += 1
        return JSONResponse({"provider": provider, "by": by, "total": total, "counts": dict(counts)})

    async def faults_endpoint(self, request: Request) -> Response:
        """`GET`/`PUT` (replace)/`PATCH` (merge)/`DELETE` (clear) `/_sandbox/faults`.

        PUT and DELETE release every held request, as does PATCH with `"hold": false` (handled or
        dropped as `release` says), and send every answer kept back, as does PATCH with
        `"hold_answers": false`; `held` and `answers_held` in the answer count what waits.
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


def answer_gate(app: ASGIApp, faults: Faults, provider: str) -> ASGIApp:
    """`app` (one provider route) whose answers an answer hold keeps back once they are produced.

    The request's body is read whole before the route runs, so a request held by a hold is handled
    as it arrived even when its client is gone by the time it is released (a request that reached
    the provider is the provider's, whatever became of its sender). The route runs to its end (the
    stand-in records the message) into a buffer; while `faults` holds `provider`'s answers the buffer
    waits, then goes out. A client gone meanwhile gets nothing. Every answer sent is counted in
    `faults.answered`.
    """

    async def gated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if not faults.hold and not faults.holds_answers(provider):  # nothing to wait for: straight through
            await app(scope, receive, send)
            faults.answered += 1
            return
        receive = await _read_whole(receive)
        if not faults.holds_answers(provider):
            await app(scope, receive, send)
            faults.answered += 1
            return
        produced: list[Message] = []

        async def keep(message: Message) -> None:
            produced.append(message)

        await app(scope, receive, keep)
        await faults.wait_answer()
        with contextlib.suppress(OSError, RuntimeError):  # the client may have died while it waited
            for message in produced:
                await send(message)
        faults.answered += 1

    return gated


async def _read_whole(receive: Receive) -> Receive:
    """Read a request's body now; a `receive` that hands it over whole, then waits as `receive` does."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # gone before it was sent whole: the route sees that
            first: Message = message
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay


def _gated(routes: list[Route], faults: Faults, provider: str) -> list[Route]:
    for route in routes:
        route.app = answer_gate(route.app, faults, provider)
    return list(routes)


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
        Route("/_sandbox/messages/counts", inspection.message_counts, methods=["GET"]),
        Route("/_sandbox/faults", inspection.faults_endpoint, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/_sandbox/callbacks", callback_settings, methods=["GET", "PUT"]),
    ]
    for provider, stand_in in stand_ins().items():  # every provider's API (app/sandbox/stand_ins.py)
        routes.extend(_gated(stand_in.routes(store, faults, callbacks=callbacks), faults, provider))
    routes.extend(oauth_tokens.routes())  # token endpoints of the OAuth providers
    platforms = platform_orders.PlatformStore()
    routes.extend(platform_orders.routes(platforms))  # commerce platform APIs: orders, events
    app = Starlette(routes=routes)
    app.state.platforms = platforms
    app.state.store = store
    app.state.faults = faults
    app.state.callbacks = callbacks
    return app
