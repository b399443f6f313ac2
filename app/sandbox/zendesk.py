"""Zendesk ticket-create stand-in: `POST /api/v2/tickets` (and `/api/v2/tickets.json`).

Same path, API-token Basic auth (`{email}/token:{api_token}`), validation and answer (201
`{ticket, audit}`) as the Tickets API (PROVIDERS.md A14), with its idempotency rules: a repeated
`Idempotency-Key` with the same body replays the first answer (`x-idempotency-lookup: hit`,
nothing recorded), with another body answers 400 `IdempotentRequestError`; keys last 2 hours.
Point the adapter's `base_url` at the sandbox (the `{subdomain}` host is not checked).
`GET /api/v2/tickets` (List Tickets) answers from what was recorded, filtered by `external_id` as
Zendesk's, with the same faults as a create (docs/providers.md § Looking up a message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "zendesk"
SANDBOX_SUBDOMAIN = "demo-market"
SANDBOX_EMAIL = "receipts-bot@demo-market.example"
SANDBOX_API_TOKEN = "sandbox-zendesk-api-token"  # noqa: S105 - opens only the local sandbox
IDEMPOTENCY_TTL_S = 2 * 3600
MAX_KEY_CHARS = 255
MAX_PER_PAGE = 100  # List Tickets: 100 tickets a page at most
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")


def zendesk_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A Zendesk error: `{error, description?, details?}` (error is a name, a sentence or an object)."""
    return Response(json.dumps(body), status, headers, media_type="application/json")


def invalid(field: str, description: str) -> Response:
    """422 RecordInvalid, the Tickets API's validation answer."""
    details = {field: [{"description": description, "error": "InvalidValue"}]}
    return zendesk_error(422, {"error": "RecordInvalid", "description": "Record validation errors", "details": details})


def validate(payload: Any) -> Response | None:
    """The error answer Zendesk would give this ticket create, or None when it is valid."""
    ticket = payload.get("ticket") if isinstance(payload, dict) else None
    if not isinstance(ticket, dict):
        return zendesk_error(400, {"error": "InvalidEndpoint", "description": "Missing ticket parameter"})
    comment = ticket.get("comment")
    if not isinstance(comment, dict):
        return invalid("base", "Description: cannot be blank")
    body = comment.get("html_body") or comment.get("body")
    if not isinstance(body, str) or not body.strip():
        return invalid("base", "Description: cannot be blank")
    if "public" in comment and not isinstance(comment["public"], bool):
        return invalid("comment", "public must be true or false")
    requester = ticket.get("requester")
    if requester is not None:
        email = requester.get("email") if isinstance(requester, dict) else None
        if not isinstance(email, str) or not _EMAIL.fullmatch(email):
            return invalid("requester", "Requester: Email is not properly formatted")
    tags = ticket.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        return invalid("tags", "Tags: must be a list of strings")
    return None


class ZendeskApi:
    """The ticket-create endpoint, bound to a store, a fault set and the accepted agent token."""

    def __init__(
        self, store: MessageStore, faults: Faults, email: str = SANDBOX_EMAIL, api_token: str = SANDBOX_API_TOKEN
    ) -> None:
        self.store = store
        self.faults = faults
        self.email = email
        self._basic = base64.b64encode(f"{email}/token:{api_token}".encode())
        self._ids = itertools.count(10001)
        self._keys: dict[str, tuple[float, str, bytes]] = {}  # key -> (stored at, body digest, answer)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "basic" and hmac.compare_digest(token.strip().encode("utf-8", "replace"), self._basic)

    def _lookup(self, key: str, digest: str) -> Response | None:
        now = time.monotonic()
        for stale in [k for k, (at, _, _) in self._keys.items() if now - at > IDEMPOTENCY_TTL_S]:
            del self._keys[stale]
        if key not in self._keys:
            return None
        _, first_digest, answer = self._keys[key]
        if first_digest != digest:
            body = {
                "error": "IdempotentRequestError",
                "description": "Request parameters don't match the given idempotency key",
            }
            return zendesk_error(400, body)
        return Response(answer, 201, {"x-idempotency-lookup": "hit"}, media_type="application/json")

    async def me(self, request: Request) -> Response:
        """`GET /api/v2/users/me` (Show Self): the agent; as on Zendesk, a caller without credentials is anonymous."""
        if "authorization" not in request.headers:
            anonymous = {"id": None, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user"}
            return Response(json.dumps({"user": anonymous}), 200, media_type="application/json")
        if not self._authorized(request):
            return zendesk_error(401, {"error": "Couldn't authenticate you"})
        user = {"id": 360000000001, "name": "Receipts Bot", "email": self.email, "role": "agent", "active": True}
        return Response(json.dumps({"user": user}), 200, media_type="application/json")

    async def create_ticket(self, request: Request) -> Response:
        """`POST /api/v2/tickets` (CreateTicket)."""
        if not self._authorized(request):
            return zendesk_error(401, {"error": "Couldn't authenticate you"})
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            body = {"error": {"title": fault.phrase, "message": "Injected by the sandbox"}}
            return zendesk_error(fault.status, body, headers)
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except ValueError:
            return zendesk_error(400, {"error": "Unprocessable Entity", "description": "Server could not parse JSON"})
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_KEY_CHARS:
            return zendesk_error(400, {"error": "InvalidValue", "description": "Idempotency-Key is invalid"})
        digest = hashlib.sha256(raw).hexdigest()
        if key is not None and (replay := self._lookup(key, digest)) is not None:
            return replay
        problem = validate(payload)
        if problem is not None:
            return problem
        ticket = _ticket(next(self._ids), payload["ticket"])
        answer = json.dumps({"ticket": ticket, "audit": {"id": ticket["id"] * 10, "ticket_id": ticket["id"]}}).encode()
        comment = payload["ticket"]["comment"]
        html_length, html_sha256 = MessageRecord.digest_html(comment.get("html_body"))
        self.store.add(
            MessageRecord(
                provider=PROVIDER_ID,
                id=str(ticket["id"]),
                to=(payload["ticket"]["requester"]["email"],) if payload["ticket"].get("requester") else (),
                from_=None,
                subject=ticket["subject"],
                text=comment.get("body"),
                html_length=html_length,
                html_sha256=html_sha256,
                custom_args={
                    "tags": ticket["tags"],
                    "external_id": ticket["external_id"],
                    "public": ticket["is_public"],
                },
                idempotency_key=key,
            )
        )
        headers = {"Location": f"/api/v2/tickets/{ticket['id']}.json"}
        if key is not None:
            self._keys[key] = (time.monotonic(), digest, answer)
            headers["x-idempotency-lookup"] = "miss"
        return Response(answer, 201, headers, media_type="application/json")

    async def list_tickets(self, request: Request) -> Response:
        """`GET /api/v2/tickets` (List Tickets): the recorded tickets, oldest first, by `external_id` when given.

        Offset pagination as Zendesk's: `per_page` (at most 100) tickets a page, `page` from 1,
        `next_page`/`previous_page` URLs and `count`.
        """
        if not self._authorized(request):
            return zendesk_error(401, {"error": "Couldn't authenticate you"})
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            body = {"error": {"title": fault.phrase, "message": "Injected by the sandbox"}}
            return zendesk_error(fault.status, body, headers)
        params = request.query_params
        try:
            per_page = min(int(params.get("per_page", MAX_PER_PAGE)), MAX_PER_PAGE)
            page = int(params.get("page", 1))
        except ValueError:
            return zendesk_error(400, {"error": "InvalidPaginationParameter", "description": "page must be a number"})
        if per_page < 1 or page < 1:
            return zendesk_error(400, {"error": "InvalidPaginationParameter", "description": "page must be positive"})
        external_id = params.get("external_id")
        tickets = [
            self._listed(record)
            for record in self.store.messages(PROVIDER_ID)
            if external_id is None or record.custom_args.get("external_id") == external_id
        ]
        start = (page - 1) * per_page
        base = str(request.url.remove_query_params(["page", "per_page"]))
        joiner = "&" if "?" in base else "?"

        def url(number: int) -> str:
            return f"{base}{joiner}page={number}&per_page={per_page}"

        listing: dict[str, Any] = {
            "tickets": tickets[start : start + per_page],
            "next_page": url(page + 1) if start + per_page < len(tickets) else None,
            "previous_page": url(page - 1) if page > 1 else None,
            "count": len(tickets),
        }
        return Response(json.dumps(listing), 200, media_type="application/json")

    @staticmethod
    def _listed(record: MessageRecord) -> dict[str, Any]:
        """A recorded ticket as List Tickets shows it (the fields `_ticket` answered the create with)."""
        ticket_id = int(record.id)
        when = record.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = " ".join((record.text or "").split())
        return {
            "id": ticket_id,
            "url": f"/api/v2/tickets/{ticket_id}.json",
            "subject": record.subject,
            "description": text[:500],
            "status": "new",
            "priority": None,
            "requester_id": 360000000 + ticket_id,
            "tags": record.custom_args.get("tags", []),
            "external_id": record.custom_args.get("external_id"),
            "is_public": record.custom_args.get("public", True),
            "created_at": when,
            "updated_at": when,
        }


def _ticket(ticket_id: int, given: dict[str, Any]) -> dict[str, Any]:
    """The ticket resource returned with 201 (a subset of Zendesk's Ticket JSON)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    comment = given["comment"]
    text = comment.get("body") or re.sub(r"<[^>]+>", " ", comment.get("html_body") or "")
    return {
        "id": ticket_id,
        "url": f"/api/v2/tickets/{ticket_id}.json",
        "subject": given.get("subject") or text.strip()[:60],
        "description": " ".join(text.split())[:500],
        "status": "new",
        "priority": given.get("priority"),
        "requester_id": 360000000 + ticket_id,
        "tags": sorted(set(given.get("tags") or [])),
        "external_id": given.get("external_id"),
        "is_public": comment.get("public", True),
        "created_at": now,
        "updated_at": now,
    }


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Zendesk stand-in's routes for the sandbox app."""
    api = ZendeskApi(store, faults)
    return [
        Route("/api/v2/tickets", api.create_ticket, methods=["POST"]),
        Route("/api/v2/tickets.json", api.create_ticket, methods=["POST"]),
        Route("/api/v2/tickets", api.list_tickets, methods=["GET"]),
        Route("/api/v2/tickets.json", api.list_tickets, methods=["GET"]),
        Route("/api/v2/users/me", api.me, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Zendesk adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"subdomain": SANDBOX_SUBDOMAIN, "email": SANDBOX_EMAIL}
    return api_account(sandbox_url, settings, {"api_token": SANDBOX_API_TOKEN})
