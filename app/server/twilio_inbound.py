"""Twilio's incoming-message webhook for the store's number: `POST /webhooks/twilio/inbound`.

Set it as the number's "A message comes in" URL in the Twilio console (HTTP POST). A bad signature
is a bare 401; a verified body without MessageSid, From or Body is a 422 naming it; otherwise an
empty TwiML `<Response/>`: answers (a STOP confirmation, HELP) go through the outbox and Twilio's
API, so they are retried and tracked like every other text.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.domain.errors import SignatureRejected, ValidationFailed
from app.server.public_url import inbound_request
from app.server.whatsapp_inbound import EMPTY_TWIML
from app.services.inbound_texts import PATH, InboundTextService


def twilio_inbound_router(service: InboundTextService, *, public_url: str | None) -> APIRouter:
    router = APIRouter(tags=["provider callbacks"])

    @router.post(
        PATH,
        summary="Twilio incoming text (X-Twilio-Signature): STOP, START, HELP, a text-in code, or kept for the manager",
        responses={
            401: {"description": "Not provably from Twilio; no body"},
            422: {"description": "No MessageSid, From or Body"},
        },
        response_class=Response,
    )
    async def twilio_incoming(request: Request) -> Response:
        inbound = await inbound_request(request, public_url)
        try:
            await service.receive(inbound)
        except SignatureRejected:
            return Response(status_code=401)
        except ValidationFailed as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return router
