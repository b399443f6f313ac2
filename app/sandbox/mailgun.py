"""Mailgun Messages API stand-in: `POST /v3/{domain}/messages`.

Same path, Basic auth (`api` : key), form encodings (URL-encoded or multipart), validation and
answer (`200 {"id": "<...>", "message": "Queued. Thank you."}`) as the real API (PROVIDERS.md A3),
so the real adapter works against it unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import time
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.outcomes import Fate, Outcome, outcome_of
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

# --- the credentials the sandbox accepts (they open only the local sandbox) ----------------------
MAILGUN_API_KEY = "sandbox-mailgun-api-key"
MAILGUN_DOMAIN = "sandbox.demo-market.example"
MAILGUN_FROM = "receipts@demo-market.example"

PROVIDER_ID = "mailgun"
IDEMPOTENCY_VAR = "receiptdesk_key"
"""The `v:` custom variable recorded as the message's idempotency key."""
MAX_OPTIONS_BYTES = 16 * 1024  # o:, h:, v: and t: together (docs: api-reference/send/mailgun/messages)
MAX_RECIPIENTS = 1000

_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")
_CONTENT_FIELDS = ("text", "html", "amp-html", "template")

Form = list[tuple[str, str]]


def parse_form(content_type: str, raw: bytes) -> tuple[Form, list[str]] | None:
    """Fields and attachment file names of a URL-encoded or multipart body; None if neither."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False), []
        except UnicodeDecodeError:
            return None
    if not content_type.startswith("multipart/form-data"):
        return None
    envelope = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not envelope.is_multipart():
        return None
    fields: Form = []
    files: list[str] = []
    for part in envelope.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None and name in ("attachment", "inline"):
            files.append(filename)
        else:
            fields.append((name, data.decode(part.get_content_charset() or "utf-8", "replace")))
    return fields, files


def _addresses(value: str) -> list[str]:
    found = []
    for item in value.split(","):
        item = item.strip()
        if "<" in item and item.endswith(">"):
            item = item[item.rindex("<") + 1 : -1]
        found.append(item)
    return found


def validate(fields: Form) -> str | None:
    """The `message` Mailgun would answer 400 with, or None when the send is valid."""
    values: dict[str, list[str]] = {}
    for name, value in fields:
        values.setdefault(name, []).append(value)
    if not values.get("from", [""])[0].strip():
        return "'from' parameter is missing"
    if not _ADDRESS.search(values["from"][0]):
        return "'from' parameter is not a valid address. please check documentation"
    recipients = [a for value in values.get("to", []) for a in _addresses(value) if a]
    if not recipients:
        return "'to' parameter is missing"
    if len(recipients) > MAX_RECIPIENTS:
        return "Too many recipients"
    for address in recipients:
        if not _ADDRESS.fullmatch(address):
            return "'to' parameter is not a valid address. please check documentation"
    if not any(values.get(name, [""])[0] for name in _CONTENT_FIELDS):
        return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
    if not values.get("template") and not values.get("subject", [""])[0]:
        return "'subject' parameter is missing"
    for name in ("t:variables", "h:X-Mailgun-Variables", "recipient-variables"):
        for value in values.get(name, []):
            try:
                json.loads(value)
            except ValueError:
                return f"'{name}' parameter is not valid JSON"
    options = sum(len(n) + len(v.encode()) for n, v in fields if n[:2] in ("o:", "h:", "v:", "t:"))
    if options > MAX_OPTIONS_BYTES:
        return "Size of your custom data (o:, h:, v:, t:) exceeds 16KB"
    return None


def record_of(message_id: str, fields: Form) -> MessageRecord:
    """The store record of a validated send."""
    first = {name: value for name, value in reversed(fields)}
    custom = {name[2:]: value for name, value in fields if name.startswith("v:")}
    html_length, html_sha256 = MessageRecord.digest_html(first.get("html"))
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=tuple(a for name, value in fields if name == "to" for a in _addresses(value) if a),
        from_=first.get("from"),
        subject=first.get("subject"),
        text=first.get("text"),
        html_length=html_length,
        html_sha256=html_sha256,
        template_id=first.get("template"),
        custom_args=custom,
        idempotency_key=custom.get(IDEMPOTENCY_VAR),
        headers={name[2:]: value for name, value in fields if name.startswith("h:")},
    )


def accepted_event(record: MessageRecord) -> dict[str, object]:
    """An `accepted` event of the Events API for one recorded send (docs: user-manual/events/event-samples)."""
    recipient = record.to[0] if record.to else None
    return {
        "event": "accepted",
        "id": secrets.token_urlsafe(16),
        "timestamp": record.received_at.timestamp(),
        "recipient": recipient,
        "message": {"headers": {"message-id": record.id, "from": record.from_, "to": recipient}},
        "user-variables": dict(record.custom_args),
        "log-level": "info",
    }


def fate_event(record: MessageRecord, outcome: Outcome | None) -> dict[str, object] | None:
    """The `delivered` or `failed` event of a message whose fate a test set, else None.

    A bounce is `failed` with `severity: permanent` and a `delivery-status` (docs: user-manual/events/event-samples).
    """
    if outcome is None:
        return None
    event = accepted_event(record)
    event["id"] = f"{record.id}-{outcome.fate.value}"
    event["timestamp"] = (outcome.at or record.received_at).timestamp()
    if outcome.fate is Fate.DELIVERED:
        event.update({"event": "delivered", "delivery-status": {"code": 250, "message": "OK", "description": ""}})
    else:
        reason = outcome.reason or "550 5.1.1 The email account that you tried to reach does not exist"
        event.update(
            {
                "event": "failed",
                "severity": "permanent",
                "reason": "bounce" if outcome.fate is Fate.BOUNCED else "generic",
                "log-level": "error",
                "delivery-status": {"code": 550, "message": reason, "description": reason},
            }
        )
    return event


def fault_response(fault: Fault) -> Response:
    """How Mailgun answers an injected failure: JSON `{"message"}`, 429 with `Retry-After`."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return JSONResponse({"message": "Too many requests"}, 429, headers)
    return JSONResponse({"message": fault.phrase}, fault.status)


class MailgunApi:
    """The messages endpoint, bound to a store, a fault set, the accepted key and domain."""

    def __init__(
        self, store: MessageStore, faults: Faults, api_key: str = MAILGUN_API_KEY, domain: str = MAILGUN_DOMAIN
    ) -> None:
        self.store = store
        self.faults = faults
        self.domain = domain
        self._expected = b"Basic " + base64.b64encode(f"api:{api_key}".encode())

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        try:
            scheme, _, token = given.partition(b" ")
            normalized = b"Basic " + base64.b64encode(base64.b64decode(token, validate=True))
        except (binascii.Error, ValueError):
            return False
        return scheme.lower() == b"basic" and hmac.compare_digest(normalized, self._expected)

    async def domain_details(self, request: Request) -> Response:
        """`GET /v4/domains/{name}`: the domain's state, for the account's key; 404 for a domain not on it."""
        if not self._authorized(request):
            return PlainTextResponse("Forbidden", 401)
        if request.path_params["domain"] != self.domain:
            return JSONResponse({"message": "Domain not found"}, 404)
        domain = {"name": self.domain, "state": "active", "type": "custom", "spam_action": "disabled"}
        return JSONResponse({"domain": domain, "receiving_dns_records": [], "sending_dns_records": []})

    async def events(self, request: Request) -> Response:
        """`GET /v3/{domain}/events`: the `accepted` events of recorded sends, filtered as the real API does.

        Filters served: `event`, `begin` (epoch seconds), `user-variables` (a JSON object every one of
        whose pairs the event's user variables must hold), `message-id`, `limit` (at most 300). A message
        whose fate a test set (`app.sandbox.outcomes`) also has its `delivered` or `failed` event.
        """
        if not self._authorized(request):
            return PlainTextResponse("Forbidden", 401)
        if request.path_params["domain"] != self.domain:
            return JSONResponse({"message": f"Domain not found: {request.path_params['domain']}"}, 404)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        query = request.query_params
        try:
            begin = float(query.get("begin", "0"))
            limit = min(int(query.get("limit", "300")), 300)
            wanted = json.loads(query.get("user-variables", "{}"))
        except ValueError:
            return JSONResponse({"message": "Invalid query parameters"}, 400)
        if not isinstance(wanted, dict):
            return JSONResponse({"message": "user-variables must be a JSON object"}, 400)
        kind, message_id = query.get("event"), query.get("message-id")
        items = []
        for record in self.store.messages(PROVIDER_ID):
            if record.received_at.timestamp() < begin:
                continue
            if any(record.custom_args.get(name) != value for name, value in wanted.items()):
                continue
            if message_id is not None and record.id != message_id.strip("<>"):
                continue
            for event in (accepted_event(record), fate_event(record, outcome_of(self.store, PROVIDER_ID, record.id))):
                if event is not None and kind in (None, event["event"]):
                    items.append(event)
        return JSONResponse({"items": items[:limit], "paging": {}})

    async def send(self, request: Request) -> Response:
        """`POST /v3/{domain}/messages`."""
        if not self._authorized(request):
            return PlainTextResponse("Forbidden", 401)  # Mailgun answers a bad key with plain text
        if request.path_params["domain"] != self.domain:
            return JSONResponse({"message": f"Domain not found: {request.path_params['domain']}"}, 404)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        parsed = parse_form(request.headers.get("content-type", ""), await request.body())
        if parsed is None:
            return JSONResponse({"message": "Invalid request: expected form data"}, 400)
        fields, _files = parsed
        problem = validate(fields)
        if problem:
            return JSONResponse({"message": problem}, 400)
        message_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}.{secrets.token_hex(8)}@{self.domain}"
        self.store.add(record_of(message_id, fields))
        return JSONResponse({"id": f"<{message_id}>", "message": "Queued. Thank you."})


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Mailgun routes of the sandbox app."""
    api = MailgunApi(store, faults)
    return [
        Route("/v3/{domain}/messages", api.send, methods=["POST"]),
        Route("/v4/domains/{domain}", api.domain_details, methods=["GET"]),
        Route("/v3/{domain}/events", api.events, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Mailgun adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"domain": MAILGUN_DOMAIN, "from_email": MAILGUN_FROM, "from_name": store_name}
    return api_account(sandbox_url, settings, {"api_key": MAILGUN_API_KEY})
