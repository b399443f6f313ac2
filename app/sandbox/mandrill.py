"""Mandrill (Mailchimp Transactional) stand-in: `messages/send.json` and `messages/send-template.json`.

Same paths (`/api/1.0/...` as documented and `/api/1.3/...` as the official SDK calls them), the
key in the JSON body, errors as `{status: "error", code, name, message}` with HTTP 500, and a
per-recipient result array (PROVIDERS.md A4), so the real adapter and SDK work against it unchanged.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.outcomes import Fate, outcome_of
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

# --- the credentials the sandbox accepts (they open only the local sandbox) ----------------------
MANDRILL_API_KEY = "sandbox-mandrill-api-key"
MANDRILL_FROM = "receipts@demo-market.example"
REJECTED_DOMAIN = "rejected.demo-market.example"
"""Recipients at this domain come back `rejected` (`hard-bounce`), as a suppressed address would."""

PROVIDER_ID = "mandrill"
IDEMPOTENCY_META = "receiptdesk_key"
"""The `message.metadata` key recorded as the message's idempotency key."""
API_VERSIONS = ("1.0", "1.3")  # 1.0 in the docs, 1.3 in mailchimp-transactional-python ApiClient.host

_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")
_RECIPIENT_TYPES = ("to", "cc", "bcc")


def mandrill_error(status: int, code: int, name: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Mandrill error answer: `{"status": "error", "code", "name", "message"}`."""
    body = {"status": "error", "code": code, "name": name, "message": message}
    return JSONResponse(body, status, headers)


def _validation(message: str) -> Response:
    return mandrill_error(500, -2, "ValidationError", f"Validation error: {message}")


UNKNOWN_TEMPLATE_MARK = "missing"
"""A `template_name` holding this is one the sandbox account lacks: refused with `Unknown_Template`, as Mandrill
refuses a template it does not have, so the fallback to our own rendering can be exercised."""


def validate(payload: dict[str, Any], *, template: bool) -> str | None:
    """What a `ValidationError` would say about this body, or None when it is valid."""
    message = payload.get("message")
    if not isinstance(message, dict):
        return json.dumps({"message": "Sorry, this field can't be left blank."})
    if template:
        if not isinstance(payload.get("template_name"), str) or not payload["template_name"]:
            return json.dumps({"template_name": "Sorry, this field can't be left blank."})
        if not isinstance(payload.get("template_content"), list):
            return json.dumps({"template_content": "Sorry, this field can't be left blank."})
    elif not message.get("html") and not message.get("text"):
        return json.dumps({"message": {"html": "Sorry, a message needs html or text."}})
    to = message.get("to")
    if not isinstance(to, list) or not to:
        return json.dumps({"message": {"to": "Sorry, this field can't be left blank."}})
    for index, recipient in enumerate(to):
        if not isinstance(recipient, dict) or not isinstance(recipient.get("email"), str):
            return json.dumps({"message": {"to": {str(index): {"email": "Sorry, this field can't be left blank."}}}})
        if recipient.get("type", "to") not in _RECIPIENT_TYPES:
            return json.dumps({"message": {"to": {str(index): {"type": "must be one of to, cc, bcc"}}}})
    sender = message.get("from_email")
    if sender is not None and (not isinstance(sender, str) or not _ADDRESS.fullmatch(sender)):
        return json.dumps({"message": {"from_email": "An email address must contain a single @"}})
    metadata = message.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return json.dumps({"message": {"metadata": "Please enter an array"}})
    return None


def recipient_result(email: str, message_id: str) -> dict[str, Any]:
    """One entry of the send answer: `sent`, or `invalid`/`rejected` with a reason."""
    if not _ADDRESS.fullmatch(email):
        return {"email": email, "status": "invalid", "_id": message_id, "reject_reason": None, "queued_reason": None}
    if email.lower().endswith("@" + REJECTED_DOMAIN):
        status, reason = "rejected", "hard-bounce"
        return {"email": email, "status": status, "_id": message_id, "reject_reason": reason, "queued_reason": None}
    return {"email": email, "status": "sent", "_id": message_id, "reject_reason": None, "queued_reason": None}


def record_of(result: dict[str, Any], payload: dict[str, Any]) -> MessageRecord:
    """The store record of one recipient that was sent."""
    message: dict[str, Any] = payload["message"]
    metadata = dict(message.get("metadata") or {})
    html_length, html_sha256 = MessageRecord.digest_html(message.get("html"))
    key = metadata.get(IDEMPOTENCY_META)
    return MessageRecord(
        provider=PROVIDER_ID,
        id=result["_id"],
        to=(result["email"],),
        from_=message.get("from_email"),
        subject=message.get("subject"),
        text=message.get("text"),
        html_length=html_length,
        html_sha256=html_sha256,
        template_id=payload.get("template_name"),
        template_data=_merge_vars(message) if payload.get("template_name") else None,
        custom_args=metadata,
        idempotency_key=key if isinstance(key, str) else None,
        headers={str(k): str(v) for k, v in (message.get("headers") or {}).items()},
    )


def _merge_vars(message: dict[str, Any]) -> dict[str, Any]:
    """`global_merge_vars` as one object (name → content), as a handlebars template reads them."""
    found = message.get("global_merge_vars") or []
    return {str(v["name"]): v.get("content") for v in found if isinstance(v, dict) and "name" in v}


_SEARCH_TERM = re.compile(r'u_([A-Za-z0-9_-]+):(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def search_result(record: MessageRecord) -> dict[str, Any]:
    """One message of the search answer (docs: transactional/api/messages/search-messages-by-date)."""
    return {
        "ts": int(record.received_at.timestamp()),
        "_id": record.id,
        "sender": record.from_,
        "template": record.template_id,
        "subject": record.subject,
        "email": record.to[0] if record.to else None,
        "tags": [],
        "opens": 0,
        "opens_detail": [],
        "clicks": 0,
        "clicks_detail": [],
        "state": "sent",
        "metadata": dict(record.custom_args),
    }


INFO_STATES: dict[Fate, tuple[str, str]] = {
    # messages/info `state` and the SMTP diagnostic of a fate a test set
    Fate.DELIVERED: ("sent", "250 2.0.0 OK"),
    Fate.BOUNCED: ("bounced", "550 5.1.1 The email account that you tried to reach does not exist"),
    Fate.FAILED: ("rejected", "rejected"),
}


def fault_response(fault: Fault) -> Response:
    """An injected failure in Mandrill's error shape; 429 carries `Retry-After`."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return mandrill_error(429, -1, "GeneralError", "Too many requests", headers)
    if fault.status >= 500:
        return mandrill_error(fault.status, -1, "GeneralError", fault.phrase)
    if fault.status in (401, 403):
        return mandrill_error(fault.status, -1, "Invalid_Key", "Invalid API key")
    return mandrill_error(fault.status, -2, "ValidationError", f"Validation error: {fault.phrase}")


class MandrillApi:
    """`messages/send` and `messages/send-template`, bound to a store, a fault set and the key."""

    def __init__(self, store: MessageStore, faults: Faults, api_key: str = MANDRILL_API_KEY) -> None:
        self.store = store
        self.faults = faults
        self._key = api_key.encode("utf-8")

    async def send(self, request: Request) -> Response:
        """`POST /api/{version}/messages/send.json`."""
        return await self._handle(request, template=False)

    async def send_template(self, request: Request) -> Response:
        """`POST /api/{version}/messages/send-template.json`."""
        return await self._handle(request, template=True)

    async def ping2(self, request: Request) -> Response:
        """`POST /api/{version}/users/ping2.json`: validates the key and answers `{"PING": "PONG!"}`."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        return JSONResponse({"PING": "PONG!"})

    async def _refused(self, request: Request) -> Response | None:
        """The error for an unknown API version, a body that is not JSON or a wrong key; None when all is well."""
        if request.path_params["version"] not in API_VERSIONS:
            return mandrill_error(404, -1, "GeneralError", "Unknown API version")
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return mandrill_error(500, -1, "ValidationError", "You must specify a key value")
        key = payload.get("key") if isinstance(payload, dict) else None
        if not isinstance(key, str) or not hmac.compare_digest(key.encode("utf-8", "replace"), self._key):
            return mandrill_error(500, -1, "Invalid_Key", "Invalid API key")  # every API error is HTTP 500
        return None

    async def search(self, request: Request) -> Response:
        """`POST /api/{version}/messages/search.json`: the query terms `u_<field>:"<value>"` (custom
        metadata, the one kind served; `*` matches all), `date_from` (a date), `limit`; newest first."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        payload = json.loads(await request.body())
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        query = str(payload.get("query") or "*").strip()
        wanted: dict[str, str] = {}
        if query != "*":
            for term in _SEARCH_TERM.finditer(query):
                wanted[term.group(1)] = (term.group(2) if term.group(2) is not None else term.group(3)).replace(
                    '\\"', '"'
                )
            if not wanted:
                return _validation(f"Unsupported search query: {query}")
        try:
            since = date.fromisoformat(str(payload["date_from"])[:10]) if payload.get("date_from") else None
            limit = int(payload.get("limit") or 100)
        except ValueError:
            return _validation("date_from must be a date and limit a number")
        found = [
            search_result(record)
            for record in reversed(self.store.messages(PROVIDER_ID))
            if all(record.custom_args.get(name) == value for name, value in wanted.items())
            and (since is None or record.received_at.date() >= since)
        ]
        return JSONResponse(found[: min(limit, 1000)])

    # --- status check: one message's info ------------------------------------------------------

    async def info(self, request: Request) -> Response:
        """`POST /api/{version}/messages/info.json` with `id`: the search entry of that message, its
        `state` `queued` until a test sets its fate (`app.sandbox.outcomes`): `sent`, `bounced` or
        `rejected`, with `smtp_events`; an unknown id is `Unknown_Message` (HTTP 500, as every error)."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        payload = json.loads(await request.body())
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        message_id = str(payload.get("id") or "")
        record = next((r for r in self.store.messages(PROVIDER_ID) if r.id == message_id), None)
        if record is None:
            return mandrill_error(500, 11, "Unknown_Message", f"No message exists with the id '{message_id}'")
        info = search_result(record) | {"state": "queued", "smtp_events": []}
        outcome = outcome_of(self.store, PROVIDER_ID, message_id)
        if outcome is not None:
            state, diag = INFO_STATES[outcome.fate]
            ts = int((outcome.at or record.received_at).timestamp())
            info |= {"state": state, "smtp_events": [{"ts": ts, "type": state, "diag": outcome.reason or diag}]}
        return JSONResponse(info)

    async def _handle(self, request: Request, *, template: bool) -> Response:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        payload = json.loads(await request.body())
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        problem = validate(payload, template=template)
        if problem:
            return _validation(problem)
        name = payload.get("template_name") if template else None
        if isinstance(name, str) and UNKNOWN_TEMPLATE_MARK in name:
            return mandrill_error(500, 5, "Unknown_Template", f'No such template "{name}"')
        results = [
            recipient_result(str(recipient["email"]), uuid.uuid4().hex) for recipient in payload["message"]["to"]
        ]
        for result in results:
            if result["status"] == "sent":
                self.store.add(record_of(result, payload))
        return JSONResponse(results)


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Mandrill routes of the sandbox app."""
    api = MandrillApi(store, faults)
    return [
        Route("/api/{version}/messages/send.json", api.send, methods=["POST"]),
        Route("/api/{version}/messages/send-template.json", api.send_template, methods=["POST"]),
        Route("/api/{version}/users/ping2.json", api.ping2, methods=["POST"]),
        Route("/api/{version}/messages/search.json", api.search, methods=["POST"]),
        Route("/api/{version}/messages/info.json", api.info, methods=["POST"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Mandrill adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"from_email": MANDRILL_FROM, "from_name": store_name}
    return api_account(sandbox_url, settings, {"api_key": MANDRILL_API_KEY})
