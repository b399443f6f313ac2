"""Provider status callbacks on the local API. A bad signature is a bare 401: no detail for a prober."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.domain.errors import SignatureRejected
from app.providers.sendgrid_events import SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.server.public_url import called_url
from app.services.callbacks import CallbackService


def callback_router(callbacks: CallbackService, *, public_url: str | None) -> APIRouter:
    """Routes under /webhooks; `public_url` is the base URL providers call (for URL-signed callbacks)."""
    router = APIRouter(prefix="/webhooks", tags=["provider callbacks"])

    @router.post("/twilio/status", summary="Twilio message status callback (X-Twilio-Signature)")
    async def twilio_status(request: Request) -> Response:
        # Twilio posts application/x-www-form-urlencoded; every parameter counts toward the signature
        params = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        try:
            await callbacks.twilio_status(
                called_url(request, public_url), params, request.headers.get("X-Twilio-Signature")
            )
        except SignatureRejected:
            return Response(status_code=401)
        return Response(status_code=204)

    @router.post("/sendgrid/events", summary="SendGrid Event Webhook (signed events)")
    async def sendgrid_events(request: Request) -> Response:
        body = await request.body()
        try:
            result = await callbacks.sendgrid_events(
                body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
            )
        except SignatureRejected:
            return Response(status_code=401)
        return JSONResponse({"recorded": result.recorded, "duplicates": result.duplicates})

    @router.post("/mailgun/events", summary="Mailgun webhook (signature in the body)")
    async def mailgun(request: Request) -> Response:
        try:
            await callbacks.mailgun_event(await request.body())
        except SignatureRejected:
            return Response(status_code=401)
        return Response(status_code=204)

    @router.post("/postmark/events", summary="Postmark webhook (Basic credentials)")
    async def postmark(request: Request) -> Response:
        try:
            await callbacks.postmark_event(await request.body(), request.headers.get("Authorization"))
        except SignatureRejected:
            return Response(status_code=401)
        return Response(status_code=204)

    @router.post("/mandrill/events", summary="Mandrill webhook (X-Mandrill-Signature)")
    async def mandrill(request: Request) -> Response:
        params = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        try:
            await callbacks.mandrill_events(
                called_url(request, public_url), params, request.headers.get("X-Mandrill-Signature")
            )
        except SignatureRejected:
            return Response(status_code=401)
        return Response(status_code=204)

    return router
