"""The unsubscribe pages (`/unsubscribe/TOKEN`) and Mailgun's inbound forward (`/webhooks/mailgun/inbound`).

`GET` shows one line and a button and changes nothing (mail scanners open every link); `POST` (the
button, or a mail app's RFC 8058 one-click POST with `List-Unsubscribe=One-Click`) unsubscribes, and a
repeat is answered as done. Any body is taken: the token is what authorises. An unknown token is a 404
page of one line. These paths need no API token; each client address has the webhooks' request budget
(`[api] webhook_requests_per_minute`) on them, spent before anything is read.
"""

from __future__ import annotations

import math
from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app.domain.channels import Language
from app.domain.errors import SignatureRejected
from app.domain.unsubscribe import TOKEN_RE
from app.providers.mailgun_inbound import PATH as MAILGUN_INBOUND
from app.rendering.i18n import catalogue
from app.server.public_url import inbound_request
from app.server.rate_limit import SourceBudget
from app.services.unsubscribe import UnsubscribeService

PREFIX = "/unsubscribe"

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111827}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><h1>{title}</h1>{content}</body></html>
"""


def _page(language: Language, content: str, status: int = 200) -> HTMLResponse:
    t = catalogue(language)
    html = _PAGE.format(lang=language.value, title=escape(t["unsubscribe_page_title"]), content=content)
    # No caching: a shared cache must not hand one person's page to another.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _asked(request: Request) -> Language:
    """The language a browser asks for first, when it is one the pages are written in; else English."""
    first = request.headers.get("accept-language", "").split(",", 1)[0].split(";", 1)[0].strip().lower()
    code = first.split("-", 1)[0]
    return Language(code) if code in {language.value for language in Language} else Language.EN


def _unknown(request: Request) -> HTMLResponse:
    language = _asked(request)
    return _page(language, f"<p>{escape(catalogue(language)['unsubscribe_page_unknown'])}</p>", 404)


def unsubscribe_router(service: UnsubscribeService, *, budget: SourceBudget, public_url: str | None) -> APIRouter:
    """The pages and the inbound forward over `service`; `budget` paces each client address."""
    router = APIRouter(tags=["unsubscribe"])

    def over_budget(request: Request) -> Response | None:
        client = request.client
        wait = budget.take((PREFIX, client.host if client else "unknown"))
        if wait <= 0:
            return None
        seconds = max(1, math.ceil(wait))
        return HTMLResponse(
            "<p>Too many requests; try again in a minute.</p>", 429, headers={"Retry-After": str(seconds)}
        )

    @router.get(
        PREFIX + "/{token}",
        response_class=HTMLResponse,
        summary="The unsubscribe page of a receipt e-mail: a button; opening it changes nothing",
        responses={404: {"description": "Unknown token"}, 429: {"description": "Too many requests"}},
    )
    async def unsubscribe_page(token: str, request: Request) -> Response:
        refused = over_budget(request)
        if refused is not None:
            return refused
        view = await service.look(token) if TOKEN_RE.fullmatch(token) else None
        if view is None:
            return _unknown(request)
        t = catalogue(view.language)
        ask = escape(t["unsubscribe_page_ask"].format(address=view.masked))
        form = (
            f'<p>{ask}</p><form method="post" action="{PREFIX}/{escape(token)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{escape(t["unsubscribe_page_button"])}</button></form>'
        )
        return _page(view.language, form)

    @router.post(
        PREFIX + "/{token}",
        response_class=HTMLResponse,
        summary="Unsubscribe (RFC 8058 one-click, or the page's button): no more receipt e-mails to the address",
        responses={404: {"description": "Unknown token"}, 429: {"description": "Too many requests"}},
    )
    async def unsubscribe(token: str, request: Request) -> Response:
        refused = over_budget(request)
        if refused is not None:
            return refused
        done = await service.unsubscribe(token) if TOKEN_RE.fullmatch(token) else None
        if done is None:
            return _unknown(request)
        t = catalogue(done.view.language)
        line = t["unsubscribe_page_done"].format(address=done.view.masked, store=service.store_name)
        return _page(done.view.language, f"<p>{escape(line)}</p>")

    @router.post(
        MAILGUN_INBOUND,
        tags=["provider callbacks"],
        summary="Mailgun inbound route forward (signed): an e-mail to the unsubscribe mailbox unsubscribes its token",
        responses={
            401: {"description": "Not provably from Mailgun; no body"},
            406: {"description": "The e-mail names no known unsubscribe token (Mailgun does not retry a 406)"},
        },
    )
    async def mailgun_inbound(request: Request) -> Response:
        inbound = await inbound_request(request, public_url)
        try:
            done = await service.mailgun_inbound(inbound)
        except SignatureRejected:
            return Response(status_code=401)
        if done is None:
            return JSONResponse({"error": "The e-mail names no known unsubscribe token; nothing changed."}, 406)
        return JSONResponse({"unsubscribed": True, "repeat": not done.newly})

    return router
