"""Commerce platform webhooks on the local API: `/webhooks/{platform}`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.domain.errors import SignatureRejected
from app.server.public_url import inbound_request
from app.services.intake import IntakeService


def platform_router(intake: IntakeService, *, public_url: str | None) -> APIRouter:
    """One route for every platform; the platform's trigger does the verifying and the mapping."""
    router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])

    @router.post("/{platform}", summary="A sale or order event from a commerce platform")
    async def receive(platform: str, request: Request) -> Response:
        inbound = await inbound_request(request, public_url)
        try:
            result = await intake.receive(platform, inbound)
        except SignatureRejected:
            return Response(status_code=401)  # no detail for whoever is probing
        if result.ignored is not None:
            return JSONResponse({"accepted": 0, "ignored": result.ignored})
        return JSONResponse(
            {
                "accepted": len(result.results) + len(result.updates),
                "receipts": [{"receipt_id": r.receipt_id, "duplicate": r.duplicate} for r in result.results],
                "updates": [
                    {
                        "update_id": u.update_id,
                        "order_id": u.order_id,
                        "status": u.status,
                        "duplicate": u.duplicate,
                        "receipt_id": u.receipt_id,  # null while the order's sale has not arrived
                        "deliveries": u.deliveries,
                    }
                    for u in result.updates
                ],
            },
            status_code=202,
        )

    return router
