"""The URL a provider or platform called, which is what URL-signed webhooks sign."""

from __future__ import annotations

from starlette.requests import Request


def called_url(request: Request, public_url: str | None) -> str:
    """The request's URL as seen from outside: behind a proxy or tunnel, `public_url` replaces the origin."""
    if not public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_url.rstrip("/") + request.url.path + query
