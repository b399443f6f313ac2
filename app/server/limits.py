"""A request body limit enforced before the application reads anything.

A body declared larger than the limit (`Content-Length`) is answered `413` before the application
runs. A body that turns out larger while it is read (sent chunked, with no length) stops the
application's read with `BodyTooLarge`; whatever the application makes of that (FastAPI turns a
failed body read into a `400` of its own), the answer is the `413`, and the application's own answer
is dropped. Either way the server discards the rest of the unread body, so the keep-alive connection
carries the client's next request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.errors import send_json


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Answers 413 when a body is declared or turns out larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}  # routes whose bodies may be larger (a hub's batches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await _reject(send, max_bytes)
                return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the 413 below is the answer, not what the application made of the failed read
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _reject(send, max_bytes)


async def _reject(send: Send, limit: int) -> None:
    await send_json(
        send, 413, {"detail": [{"loc": ["body"], "msg": f"Body larger than {limit} bytes", "type": "too_large"}]}
    )
