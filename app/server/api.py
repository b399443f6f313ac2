"""The local API a POS integrates against: post a sale, read a receipt, check health."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.middleware.cors import CORSMiddleware

from app import __version__
from app.config.settings import ApiSettings
from app.domain.clock import utcnow
from app.domain.errors import (
    ConfigurationError,
    InstanceBusy,
    NotFound,
    PermanentProviderError,
    ReceiptDeskError,
    SaleConflict,
    SignatureRejected,
    TransientProviderError,
    Unavailable,
    ValidationFailed,
)
from app.domain.intake import InvalidSale, parse_sale
from app.domain.sale import Sale
from app.domain.tokens import Scope
from app.providers.mailgun_inbound import PATH as MAILGUN_INBOUND
from app.server.auth import Authenticator, RequestBudget, TokenAuth, client_of, declare_security
from app.server.devices import device_router
from app.server.errors import UnexpectedErrors
from app.server.guards import NetworkGuard, NetworkPolicy
from app.server.hub import BATCH_MAX_BYTES, BATCHES, hub_router, with_lanes
from app.server.hub_profiles import hub_profiles_router
from app.server.hub_requests import hub_requests_router
from app.server.hub_settings import hub_settings_router
from app.server.limits import BodyLimitMiddleware
from app.server.platforms import platform_router
from app.server.rate_limit import SourceBudget, WebhookRateLimit
from app.server.schemas import HealthOut, ReceiptOut, SaleAccepted
from app.server.twilio_incoming import twilio_incoming_router
from app.server.unsubscribe import unsubscribe_router
from app.server.webhooks import callback_router
from app.services.app_devices import AppDeviceService
from app.services.callbacks import CallbackService
from app.services.checkout import CheckoutService
from app.services.health import HealthService
from app.services.hub import HubService
from app.services.inbound_texts import PATH as TWILIO_INBOUND
from app.services.inbound_texts import InboundTextService
from app.services.intake import IntakeService
from app.services.receipts import ReceiptService
from app.services.unsubscribe import UnsubscribeService
from app.services.whatsapp_inbound import PATH as WHATSAPP_INBOUND
from app.services.whatsapp_inbound import WhatsAppInboundService
from app.support.json_limits import JsonRejected, loads
from app.triggers.pos import pos_event
from app.triggers.registry import TRIGGERS

_STATUS: list[tuple[type[ReceiptDeskError], int]] = [
    (TransientProviderError, 503),  # a platform's API we fetch from is down: the platform will retry
    (PermanentProviderError, 502),
    (ValidationFailed, 422),
    (NotFound, 404),
    (SaleConflict, 409),
    (ConfigurationError, 503),
    (Unavailable, 503),  # the database server cannot be reached: the client may retry
    (InstanceBusy, 503),
]
"""Every error raised on purpose has its status here; one that is not is answered 500, as a bug."""


def _problem(loc: list[Any], msg: str, kind: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": loc, "msg": msg, "type": kind}]}, status_code=422)


def create_api(
    checkout: CheckoutService,
    receipts: ReceiptService,
    health: HealthService,
    *,
    tokens: Authenticator,
    settings: ApiSettings,
    callbacks: CallbackService | None = None,
    intake: IntakeService | None = None,
    devices: AppDeviceService | None = None,
    whatsapp_inbound: WhatsAppInboundService | None = None,
    unsubscribe: UnsubscribeService | None = None,
    inbound_texts: InboundTextService | None = None,
    hub: HubService | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The FastAPI application; in front of it, outermost first: the last word on unexpected errors (a
    JSON 500 that keeps the connection), the host and origin guard, CORS for the allowed origins, the
    token check of `/v1` (scope, budget per token, JSON bodies), the budget per webhook source and
    address, the body-size limit.

    `clock` (monotonic seconds) paces each token's budget of `settings.requests_per_minute` and each
    webhook source's of `settings.webhook_requests_per_minute`.
    """
    public_url = settings.public_url
    api = FastAPI(
        title="ReceiptDesk local API",
        version=__version__,
        description="Post completed sales from the POS; ReceiptDesk renders and delivers the receipt.",
    )

    @api.exception_handler(ReceiptDeskError)
    async def _on_error(_request: Request, exc: ReceiptDeskError) -> Response:
        if isinstance(exc, SignatureRejected):
            return Response(status_code=401)  # no detail for whoever is probing
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
        return JSONResponse({"error": exc.message}, status_code=status)

    @api.post(
        "/v1/sales",
        status_code=202,
        response_model=SaleAccepted,
        summary="Record a completed sale and queue its receipt",
        responses={
            409: {"description": "The sale id is already recorded with different content"},
            413: {"description": "Body too large"},
            422: {"description": "Malformed sale, totals that do not add up, or card data"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Sale"}}},
            }
        },
    )
    async def post_sale(request: Request, idempotency_key: str | None = Header(default=None)) -> Any:
        """Validate the sale, record it once, render its receipt and queue a delivery per chosen channel.

        Send the same `Idempotency-Key` (or the same sale) again and the first receipt is returned.
        """
        body = await request.body()
        try:
            payload = loads(body, decimal=True)  # bounded; money stays exactly as written
        except JsonRejected as exc:
            return _problem(["body"], f"Body is not acceptable JSON: {exc.message}", exc.reason)
        try:
            sale = parse_sale(payload)
        except InvalidSale as exc:
            return JSONResponse(
                {"detail": [{"loc": ["body", *p.loc], "msg": p.msg, "type": p.type} for p in exc.problems]},
                status_code=422,
            )
        result = await checkout.accept(pos_event(sale, idempotency_key=idempotency_key, received_at=utcnow()))
        # The model's own JSON, answered as is: FastAPI would validate the model it was just built as again.
        return Response(SaleAccepted.of(result).model_dump_json(), status_code=202, media_type="application/json")

    @api.get("/v1/receipts/{receipt_id}", response_model=ReceiptOut, summary="A receipt and its delivery timeline")
    async def get_receipt(receipt_id: str) -> ReceiptOut:
        return ReceiptOut.of(await receipts.get(receipt_id))

    @api.get(
        "/v1/health",
        response_model=HealthOut,
        summary="Queue depth, oldest pending age, provider states",
        responses={503: {"model": HealthOut, "description": "Not ok (the same body): for load balancers and monitors"}},
    )
    async def get_health(request: Request) -> JSONResponse:
        """The health; `200` when `ok`, otherwise `503` with the same body.

        Without a token, or with one lacking `receipts:read`, the body is only `{"ok": true|false}`.
        """
        body = HealthOut.of(await health.check())
        if hub is not None:  # a hub: each lane's sync state
            body = await with_lanes(body, hub)
        status = 200 if body.ok else 503
        client = client_of(request)
        if client is None or not client.allows(Scope.RECEIPTS_READ):
            return JSONResponse({"ok": body.ok}, status_code=status)
        return JSONResponse(body.model_dump(mode="json"), status_code=status)

    if devices is not None:
        api.include_router(device_router(devices))
    if hub is not None:  # `serve --hub`: the lanes' batches and their state
        api.include_router(hub_router(hub))
        api.include_router(hub_profiles_router(hub.db))  # what lanes pull: other lanes' profile changes
        api.include_router(hub_requests_router(hub.db))  # resends carried out by the lane owning the receipt
        api.include_router(hub_settings_router(hub.db))  # stores' settings, which their lanes pull
    if callbacks is not None:
        api.include_router(callback_router(callbacks, public_url=public_url))
    if whatsapp_inbound is not None:
        api.include_router(
            twilio_incoming_router(
                whatsapp_inbound.receive,
                path=WHATSAPP_INBOUND,
                summary="Twilio incoming WhatsApp message (X-Twilio-Signature): opens the 24-hour window",
                missing="No WhatsApp sender",
                public_url=public_url,
            )
        )
    if inbound_texts is not None:
        api.include_router(
            twilio_incoming_router(
                inbound_texts.receive,
                path=TWILIO_INBOUND,
                summary="Twilio incoming text (X-Twilio-Signature): STOP, START, HELP, a text-in code, or kept",
                missing="No MessageSid, From or Body",
                public_url=public_url,
            )
        )
    if intake is not None:
        api.include_router(platform_router(intake, public_url=public_url))
    if unsubscribe is not None:  # public pages, paced per address like the webhooks
        pages_budget = SourceBudget(settings.webhook_requests_per_minute, clock=clock)
        api.include_router(unsubscribe_router(unsubscribe, budget=pages_budget, public_url=public_url))

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            _, defs = models_json_schema([(Sale, "validation")], ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            api.openapi_schema = declare_security(schema)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    policy = NetworkPolicy.of(settings.allowed_hosts, settings.allowed_origins, public_url)
    batches = {BATCHES: max(settings.max_body_bytes, BATCH_MAX_BYTES)} if hub is not None else {}
    api.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, per_path=batches)
    api.add_middleware(
        WebhookRateLimit,
        budget=SourceBudget(settings.webhook_requests_per_minute, clock=clock),
        sources=_webhook_sources(callbacks, intake)
        + ([WHATSAPP_INBOUND] if whatsapp_inbound is not None else [])
        + ([MAILGUN_INBOUND] if unsubscribe is not None else [])
        + ([TWILIO_INBOUND] if inbound_texts is not None else []),
    )
    api.add_middleware(TokenAuth, tokens=tokens, budget=RequestBudget(settings.requests_per_minute, clock=clock))
    if policy.origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=policy.cors_origins(),
            allow_methods=["GET", "POST", "DELETE"],  # DELETE: a web app unregisters its device
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Retry-After"],
        )
    api.add_middleware(NetworkGuard, policy=policy)
    api.add_middleware(UnexpectedErrors)
    return api


def _webhook_sources(callbacks: CallbackService | None, intake: IntakeService | None) -> list[str]:
    """The webhook routes served, each a source with a request budget of its own (from the registries)."""
    sources: list[str] = []
    if intake is not None:
        sources += [f"/webhooks/{platform}" for platform in TRIGGERS]
    if callbacks is not None:
        sources += [path for cls in callbacks.registry.values() for path in (cls.event_path(), *cls.paths)]
    return sources
