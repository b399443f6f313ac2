"""Provider status callbacks on the local API: `/webhooks/<provider>/events`.

One handler serves every provider; the routes are derived from the callbacks registry, so the
published schema names each provider (and keeps each one's documented paths). A bad signature is a
bare 401: no detail for a prober.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.domain.errors import SignatureRejected
from app.server.public_url import inbound_request
from app.services.callbacks import CallbackService

_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not provably from the provider (or its callbacks are not set up); no body"},
    422: {"description": "Verified, but not a body this provider sends"},
}


class RecordedCounts(BaseModel):
    """What a provider answered with counts is told: events stored now, and events seen before."""

    recorded: int
    duplicates: int


def callback_router(callbacks: CallbackService, *, public_url: str | None) -> APIRouter:
    """Routes under /webhooks; `public_url` is the base URL providers call (for URL-signed callbacks)."""
    router = APIRouter(tags=["provider callbacks"])

    async def receive(provider_id: str, request: Request) -> Response:
        inbound = await inbound_request(request, public_url)
        try:
            result = await callbacks.receive(provider_id, inbound)
        except SignatureRejected:
            return Response(status_code=401)
        if callbacks.registry[provider_id].reply_with_counts:
            return JSONResponse({"recorded": result.recorded, "duplicates": result.duplicates})
        return Response(status_code=204)

    def endpoint(provider_id: str) -> Callable[[Request], Awaitable[Response]]:
        async def provider_callback(request: Request) -> Response:
            return await receive(provider_id, request)

        return provider_callback

    for provider_id, cls in callbacks.registry.items():
        for path in (cls.event_path(), *cls.paths):
            router.add_api_route(
                path,
                endpoint(provider_id),
                methods=["POST"],
                name=f"{provider_id}_callback",
                summary=cls.summary,
                status_code=200 if cls.reply_with_counts else 204,
                responses=_REFUSED,
                response_model=RecordedCounts if cls.reply_with_counts else None,
                response_class=JSONResponse if cls.reply_with_counts else Response,
            )

    @router.post("/webhooks/{provider}/events", include_in_schema=False)
    async def other_provider(provider: str, request: Request) -> Response:
        return await receive(provider, request)  # a provider without callbacks: the service answers 404

    return router
