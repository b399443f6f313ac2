"""Twilio's "A message comes in" webhooks, for the store's number and for its WhatsApp sender.

Set each in the Twilio console (HTTP POST):
- `POST /webhooks/twilio/inbound`, the number's: STOP, START, HELP, a text-in code, or kept for the
  manager. Answers (a STOP confirmation, HELP) go through the outbox and Twilio's API, so they are
  retried and tracked like every other text.
- `POST /webhooks/twilio_whatsapp/incoming`, the WhatsApp sender's: the message opens (or extends)
  that number's 24-hour window; no reply is sent.

A bad signature is a bare 401; a verified body without what the service needs is a 422 naming it;
otherwise an empty TwiML `<Response/>` (twilio.com/docs/messaging/twiml: an empty Response sends nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.server.public_url import inbound_request

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_incoming_router(
    receive: Callable[[InboundRequest], Awaitable[object]],
    *,
    path: str,
    summary: str,
    missing: str,
    public_url: str | None,
) -> APIRouter:
    """The route at `path` handing each verified incoming message to `receive`; `missing` describes its 422."""
    router = APIRouter(tags=["provider callbacks"])

    @router.post(
        path,
        summary=summary,
        responses={401: {"description": "Not provably from Twilio; no body"}, 422: {"description": missing}},
        response_class=Response,
    )
    async def incoming(request: Request) -> Response:
        try:
            await receive(await inbound_request(request, public_url))
        except SignatureRejected:
            return Response(status_code=401)
        except ValidationFailed as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return router
