"""The local API a POS integrates against: post a sale, read a receipt, check health."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema

from app import __version__
from app.domain.clock import utcnow
from app.domain.errors import (
    ConfigurationError,
    NotFound,
    PermanentProviderError,
    ReceiptDeskError,
    SaleConflict,
    TransientProviderError,
    ValidationFailed,
)
from app.domain.intake import InvalidSale, parse_sale
from app.domain.sale import Sale
from app.server.limits import BodyLimitMiddleware
from app.server.platforms import platform_router
from app.server.schemas import HealthOut, ReceiptOut, SaleAccepted
from app.server.webhooks import callback_router
from app.services.callbacks import CallbackService
from app.services.checkout import CheckoutService
from app.services.health import HealthService
from app.services.intake import IntakeService
from app.services.receipts import ReceiptService
from app.triggers.pos import pos_event

_STATUS: list[tuple[type[ReceiptDeskError], int]] = [
    (TransientProviderError, 503),  # a platform's API we fetch from is down: the platform will retry
    (PermanentProviderError, 502),
    (ValidationFailed, 422),
    (NotFound, 404),
    (SaleConflict, 409),
    (ConfigurationError, 503),
]


def _problem(loc: list[Any], msg: str, kind: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": loc, "msg": msg, "type": kind}]}, status_code=422)


def create_api(
    checkout: CheckoutService,
    receipts: ReceiptService,
    health: HealthService,
    *,
    max_body_bytes: int,
    callbacks: CallbackService | None = None,
    intake: IntakeService | None = None,
    public_url: str | None = None,
) -> FastAPI:
    """The FastAPI application, with the body-size limit in front."""
    api = FastAPI(
        title="ReceiptDesk local API",
        version=__version__,
        description="Post completed sales from the POS; ReceiptDesk renders and delivers the receipt.",
    )

    @api.exception_handler(ReceiptDeskError)
    async def _on_error(_request: Request, exc: ReceiptDeskError) -> JSONResponse:
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
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _problem(["body"], "Body is not valid JSON", "json_invalid")
        try:
            sale = parse_sale(payload)
        except InvalidSale as exc:
            return JSONResponse(
                {"detail": [{"loc": ["body", *p.loc], "msg": p.msg, "type": p.type} for p in exc.problems]},
                status_code=422,
            )
        result = await checkout.accept(pos_event(sale, idempotency_key=idempotency_key, received_at=utcnow()))
        return SaleAccepted.of(result)

    @api.get("/v1/receipts/{receipt_id}", response_model=ReceiptOut, summary="A receipt and its delivery timeline")
    async def get_receipt(receipt_id: str) -> ReceiptOut:
        return ReceiptOut.of(await receipts.get(receipt_id))

    @api.get(
        "/v1/health",
        response_model=HealthOut,
        summary="Queue depth, oldest pending age, provider states",
        responses={503: {"model": HealthOut, "description": "Not ok (the same body): for load balancers and monitors"}},
    )
    async def get_health() -> JSONResponse:
        """The health; `200` when `ok`, otherwise `503` with the same body."""
        body = HealthOut.of(await health.check())
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ok else 503)

    if callbacks is not None:
        api.include_router(callback_router(callbacks, public_url=public_url))
    if intake is not None:
        api.include_router(platform_router(intake, public_url=public_url))

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            _, defs = models_json_schema([(Sale, "validation")], ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    api.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    return api
