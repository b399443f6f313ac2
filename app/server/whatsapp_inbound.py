"""Twilio's incoming WhatsApp message webhook: `POST /webhooks/twilio_whatsapp/incoming`.

Set it as the WhatsApp sender's "A message comes in" URL in the Twilio console. A bad signature is
a bare 401; a verified body without a WhatsApp sender is a 422 naming it; otherwise an empty TwiML
`<Response/>` (no reply is sent to the customer).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.domain.errors import SignatureRejected, ValidationFailed
from app.server.public_url import inbound_request
from app.services.whatsapp_inbound import PATH, WhatsAppInboundService

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def whatsapp_inbound_router(service: WhatsAppInboundService, *, public_url: str | None) -> APIRouter:
    router = APIRouter(tags=["provider callbacks"])

    @router.post(
        PATH,
        summary="Twilio incoming WhatsApp message (X-Twilio-Signature): opens the 24-hour window",
        responses={401: {"description": "Not provably from Twilio; no body"}, 422: {"description": "No sender"}},
        response_class=Response,
    )
    async def whatsapp_incoming(request: Request) -> Response:
        inbound = await inbound_request(request, public_url)
        try:
            await service.receive(inbound)
        except SignatureRejected:
            return Response(status_code=401)
        except ValidationFailed as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return router
