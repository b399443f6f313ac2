"""The last word on an exception nothing else answered: a logged traceback and a JSON 500.

An exception that reaches this point is a bug, and the answer says so (`500`, with a reference that
is also in the log next to the traceback). What matters as much is the connection: Starlette's own
last-resort handler sends its 500 and then re-raises, and uvicorn closes a connection whose
application raised after answering, so the client's next request on the same keep-alive connection
was reset. Here the exception ends with the answer, and the connection stays usable.

A request-validation error (FastAPI's 422), an `HTTPException` and every `ReceiptDeskError` are
answered by their own handlers inside the application and never get here.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


async def send_json(
    send: Send, status: int, body: dict[str, Any], *, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """A complete JSON response, with its length, straight to the ASGI `send`."""
    data = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode("ascii")),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class UnexpectedErrors:
    """Outermost middleware: answers an unhandled exception with a JSON 500 and keeps the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            reference = secrets.token_hex(6)
            log.exception(
                "unexpected error %s answering %s %s", reference, scope.get("method"), str(scope.get("path"))[:200]
            )
            if started:
                raise  # half an answer is out: closing the connection is the only honest end of it
            await send_json(
                send,
                500,
                {"error": f"Internal error; it is logged as {reference}.", "reference": reference},
            )
