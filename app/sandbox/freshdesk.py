"""Freshdesk outbound e-mail stand-in: `POST /api/v2/tickets/outbound_email`.

Same path, Basic auth (API key as user name, any password), validation errors
(`{description: "Validation failed", errors: [{field, message, code}]}`) and answer (201, the
ticket, `Location`) as Freshdesk API v2 (PROVIDERS.md A13), so a real adapter works against it.
Point the adapter's `base_url` at the sandbox (the `{domain}` host is not checked).
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "freshdesk"
SANDBOX_DOMAIN = "demo-market"
SANDBOX_API_KEY = "sandbox-freshdesk-api-key"
SANDBOX_EMAIL_CONFIG_ID = "5000000001"
PATH = "/api/v2/tickets/outbound_email"
ME_PATH = "/api/v2/agents/me"
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")

Error = dict[str, str]


def freshdesk_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A Freshdesk error: `{code, message}` or `{description, errors: [{field, message, code}]}`."""
    return Response(json.dumps(body), status, headers, media_type="application/json")


def _field(errors: list[Error], field: str, message: str, code: str = "invalid_value") -> None:
    errors.append({"field": field, "message": message, "code": code})


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(payload: Any, email_config_ids: frozenset[int]) -> list[Error]:
    """Every field error Freshdesk would report for this outbound e-mail (empty when valid)."""
    if not isinstance(payload, dict):
        return [{"field": "", "message": "Request body must be a JSON object", "code": "invalid_json"}]
    errors: list[Error] = []
    email = payload.get("email")
    if email is None:
        _field(errors, "email", "It should be a/an String", "missing_field")
    elif not isinstance(email, str) or not _EMAIL.fullmatch(email):
        _field(errors, "email", "It should be in the 'valid email address' format")
    subject = payload.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        _field(errors, "subject", "It should be a/an String", "missing_field")
    config = payload.get("email_config_id")
    if config is None:
        _field(errors, "email_config_id", "It should be a/an Positive Integer", "missing_field")
    elif not _integer(config) or config not in email_config_ids:
        _field(errors, "email_config_id", "There is no email_config matching the given email_config_id")
    if "description" in payload and not isinstance(payload["description"], str):
        _field(errors, "description", "It should be a/an String", "datatype_mismatch")
    if "status" in payload and payload["status"] not in (2, 3, 4, 5):
        _field(errors, "status", "It should be one of these values: '2,3,4,5'")
    if "priority" in payload and payload["priority"] not in (1, 2, 3, 4):
        _field(errors, "priority", "It should be one of these values: '1,2,3,4'")
    tags = payload.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        _field(errors, "tags", "It should be a/an Array", "datatype_mismatch")
    return errors


class FreshdeskApi:
    """The outbound e-mail endpoint, bound to a store, a fault set and the accepted API key."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        api_key: str = SANDBOX_API_KEY,
        email_config_ids: frozenset[int] = frozenset({int(SANDBOX_EMAIL_CONFIG_ID)}),
    ) -> None:
        self.store = store
        self.faults = faults
        self.email_config_ids = email_config_ids
        self._key = api_key.encode()
        self._ids = itertools.count(1001)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            user = base64.b64decode(token.strip(), validate=True).partition(b":")[0]
        except ValueError:
            return False
        return scheme.lower() == "basic" and hmac.compare_digest(user, self._key)

    async def me(self, request: Request) -> Response:
        """`GET /api/v2/agents/me` (View Me): the agent the API key belongs to."""
        if not self._authorized(request):
            body = {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}
            return freshdesk_error(401, body)
        contact = {"name": "Receipts Bot", "email": "receipts-bot@demo-market.example", "active": True}
        agent = {"id": 5000000101, "available": True, "occasional": False, "type": "support_agent", "contact": contact}
        return Response(json.dumps(agent), 200, media_type="application/json")

    async def outbound_email(self, request: Request) -> Response:
        """`POST /api/v2/tickets/outbound_email`."""
        if not self._authorized(request):
            body = {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}
            return freshdesk_error(401, body)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return freshdesk_error(fault.status, {"code": "error", "message": fault.phrase}, headers)
        if not request.headers.get("content-type", "").startswith("application/json"):
            body = {"code": "invalid_content_type", "message": "Content-Type header should have 'application/json'"}
            return freshdesk_error(415, body)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return freshdesk_error(400, {"code": "invalid_json", "message": "Request body has invalid json format"})
        errors = validate(payload, self.email_config_ids)
        if errors:
            return freshdesk_error(400, {"description": "Validation failed", "errors": errors})
        ticket_id = next(self._ids)
        ticket = _ticket(ticket_id, payload)
        html_length, html_sha256 = MessageRecord.digest_html(payload.get("description"))
        self.store.add(
            MessageRecord(
                provider=PROVIDER_ID,
                id=str(ticket_id),
                to=(payload["email"],),
                from_=str(payload["email_config_id"]),
                subject=payload["subject"],
                html_length=html_length,
                html_sha256=html_sha256,
                custom_args={"tags": ticket["tags"], "status": ticket["status"]},
            )
        )
        headers = {"Location": f"/api/v2/tickets/{ticket_id}"}
        return Response(json.dumps(ticket), 201, headers, media_type="application/json")


def _ticket(ticket_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The ticket Freshdesk returns for an outbound e-mail (source 10 = Outbound Email)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": ticket_id,
        "subject": payload["subject"],
        "description": payload.get("description", ""),
        "status": payload.get("status", 5),
        "priority": payload.get("priority", 1),
        "source": 10,
        "email_config_id": payload["email_config_id"],
        "requester_id": 900000 + ticket_id,
        "tags": payload.get("tags") or [],
        "cc_emails": payload.get("cc_emails") or [],
        "custom_fields": payload.get("custom_fields") or {},
        "created_at": now,
        "updated_at": now,
    }


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Freshdesk stand-in's routes for the sandbox app."""
    api = FreshdeskApi(store, faults)
    return [Route(PATH, api.outbound_email, methods=["POST"]), Route(ME_PATH, api.me, methods=["GET"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Freshdesk adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"domain": SANDBOX_DOMAIN, "email_config_id": SANDBOX_EMAIL_CONFIG_ID}
    return api_account(sandbox_url, settings, {"api_key": SANDBOX_API_KEY})
