"""The URL a provider or platform called (what URL-signed webhooks sign), and a webhook as it arrived."""

from __future__ import annotations

from starlette.requests import Request

from app.domain.clock import utcnow
from app.domain.inbound import InboundRequest


def called_url(request: Request, public_url: str | None) -> str:
    """The request's URL as seen from outside: behind a proxy or tunnel, `public_url` replaces the origin."""
    if not public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_url.rstrip("/") + request.url.path + query


async def inbound_request(request: Request, public_url: str | None) -> InboundRequest:
    """A webhook as it arrived, before anyone trusts it: the URL its sender called, headers, raw body, time."""
    return InboundRequest(
        url=called_url(request, public_url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        received_at=utcnow(),
    )
