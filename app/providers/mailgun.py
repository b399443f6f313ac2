"""Mailgun Messages API: one `OutboundMessage` → one `POST /v3/{domain}/messages` form.

Public documentation: https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages

See docs/providers.md § A3. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from email.utils import formataddr
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import ConfigurationError, PermanentProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.domain.tracking import EventKind, StatusAnswer
from app.providers import mailgun_events, mime
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status

IDEMPOTENCY_VAR = "receiptdesk_key"
"""Our key travels as the custom variable `v:receiptdesk_key` (webhooks return it in `user-variables`)."""
REGION_URLS: Mapping[str, str] = {
    "us": "https://api.mailgun.net",
    "eu": "https://api.eu.mailgun.net",  # EU domains live on their own host (docs: sending-messages/send-http)
}
MAX_TAGS = 3  # o:tag may repeat up to 3 times per message (docs: api-reference/send/mailgun/messages)

EVENTS_LIMIT = 300  # the most events one page holds (docs: events/get-v3-domain_name-events)
ACCEPTED_EVENT = "accepted"  # Mailgun took the request and queued the message (docs: user-manual/events)

STATUS_PRECEDENCE: tuple[frozenset[EventKind], ...] = (
    frozenset({EventKind.BOUNCED}),
    frozenset({EventKind.DELIVERED, EventKind.OPENED, EventKind.CLICKED}),
)
"""Which of a message's events settles its status, first match wins: a bounce, then a delivery."""

# Messages answers 200 with {id, message}; the HTTP status is all the "status" there is.
STATUS_MAP: Mapping[int, SendStatus] = {200: SendStatus.ACCEPTED}

ACCEPT_JSON = {"Accept": "application/json"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
Field = tuple[str, str]
FilePart = tuple[str, tuple[str, bytes, str]]


class MailgunAdapter(HttpAdapter):
    """Sends e-mail through Mailgun's Messages API, inline content or a stored template.

    Auth is HTTP Basic with the literal user `api` and the API key (or a domain sending key).
    Mailgun has no idempotency key, so ours travels as the custom variable `v:receiptdesk_key`.
    Without attachments the form is URL-encoded, as the official SDK sends it (requests `data=`);
    with attachments it is multipart/form-data, the encoding the docs describe.
    """

    provider_id: ClassVar[str] = "mailgun"
    display_name: ClassVar[str] = "Mailgun"
    default_base_url: ClassVar[str] = REGION_URLS["us"]
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,  # 25 MB per message, attachments included (PROVIDERS.md § A3)
        supports_attachments=True,
        supports_templates=True,
        supports_idempotency_key=False,  # no server-side idempotency documented
        rate_per_sec=None,  # limits exist but are unpublished; 429 tells us
        delivery_receipts=True,  # signed webhooks, PROVIDERS.md § B8
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_key", "API key"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("domain", "Sending domain"),
        SettingField("from_email", "Sender e-mail address"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("region", "Region (us or eu)", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("domain", "base_url")
    credential_check_doc: ClassVar[str | None] = (
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/domains/get-v4-domains--name-"
    )
    lookup_doc: ClassVar[str | None] = (
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/events/get-v3-domain_name-events"
    )

    status_doc: ClassVar[str | None] = (
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/events/get-v3-domain_name-events"
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        domain: str,
        from_email: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
    ) -> None:
        region_key = (region or "us").strip().lower()
        if region_key not in REGION_URLS:
            raise ConfigurationError(f"{self.display_name}: region must be one of {', '.join(REGION_URLS)}.")
        super().__init__(http, base_url=base_url or REGION_URLS[region_key])
        self._auth = httpx.BasicAuth("api", api_key)
        self._domain = domain
        self._from_email = from_email
        self._from_name = from_name or None
        self._reply_to = reply_to or None

    @property
    def sender(self) -> str:
        """The `from` field: `Name <address>` when a name is set."""
        return formataddr((self._from_name, self._from_email)) if self._from_name else self._from_email

    def build_request(self, message: OutboundMessage) -> tuple[str, list[Field], list[FilePart]]:
        """The path, the form fields (in order, repeated keys allowed) and the attachment parts."""
        self.check_channel(message)
        extra = message.provider_extra
        template = extra.get("template")
        if not template and not message.text and not message.html:
            raise PermanentProviderError(f"{self.display_name}: the message has no text, html or template.")

        fields: list[Field] = [("from", self.sender), ("to", message.to)]
        if message.subject:
            fields.append(("subject", message.subject))
        if message.text:
            fields.append(("text", message.text))
        if message.html:
            fields.append(("html", message.html))
        if template:
            fields.append(("template", str(template)))
            if extra.get("template_version"):
                fields.append(("t:version", str(extra["template_version"])))
            variables = extra.get("template_variables")
            if variables:
                # t:variables is one JSON string (mailgun-python MailgunMessageBuilder.set_template_variables).
                fields.append(("t:variables", json.dumps(variables, separators=(",", ":"), default=str)))
        fields.extend(("o:tag", tag) for tag in _tags(extra)[:MAX_TAGS])
        if self._reply_to:
            fields.append(("h:Reply-To", self._reply_to))
        # The same Message-ID on every attempt of one delivery (h: sets a MIME header, docs above).
        fields.append(("h:Message-Id", mime.message_id(message.idempotency_key, self._from_email)))
        # Extra headers (List-Unsubscribe) as `h:` fields too: "h:X-My-Header ... appends a custom MIME header"
        # (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages).
        fields.extend((f"h:{name}", value) for name, value in message.headers.items())
        custom = {**message.metadata, IDEMPOTENCY_VAR: message.idempotency_key}
        fields.extend((f"v:{name}", str(value)) for name, value in custom.items())
        # Each file is one repeated `attachment` part (mailgun-python builders.attach_file).
        # An inline image is an `inline` part instead, shown by <img src="cid:<its file name>"> (docs:
        # https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/send-attachments).
        files: list[FilePart] = [
            ("inline" if a.content_id else "attachment", (a.content_id or a.filename, a.content, a.content_type))
            for a in message.attachments
        ]
        return f"/v3/{quote(self._domain, safe='')}/messages", fields, files

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, fields, files = self.build_request(message)
        url = self._base_url + path
        # Multipart only with attachments; otherwise URL-encoded, as mailgun-python sends it (requests `data=`).
        if files:
            return HttpRequest(url, data=_multi_dict(fields), files=files, headers=ACCEPT_JSON, auth=self._auth)
        content = urlencode(fields).encode("ascii")
        return HttpRequest(url, content=content, headers=ACCEPT_JSON | FORM_TYPE, auth=self._auth)

    def credential_request(self) -> HttpRequest | None:
        """Get domain details (`GET /v4/domains/{name}`): the key opens the account and the domain is on it."""
        return HttpRequest(
            f"{self._base_url}/v4/domains/{quote(self._domain, safe='')}",
            method="GET",
            headers=ACCEPT_JSON,
            auth=self._auth,
        )

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """The Events API (`GET /v3/{domain}/events`): `accepted` events since `sent_after` whose user
        variables hold our reference.

        `user-variables` takes a JSON object and matches events carrying those `v:` variables (the
        filter fields of docs: user-manual/events/filter-field; the JSON form [S]); `begin` is epoch
        seconds and `ascending=yes` is required when no `end` is given (docs above).
        """
        query = {
            "event": ACCEPTED_EVENT,
            "begin": str(int(sent_after.timestamp())),
            "ascending": "yes",
            "limit": str(EVENTS_LIMIT),
            "user-variables": json.dumps({IDEMPOTENCY_VAR: message.idempotency_key}, separators=(",", ":")),
        }
        url = f"{self._base_url}/v3/{quote(self._domain, safe='')}/events?{urlencode(query)}"
        return HttpRequest(url, method="GET", headers=ACCEPT_JSON, auth=self._auth)

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when an `accepted` event carries our reference in its `user-variables`.

        The answer is `{"items": [event, ...], "paging": {...}}`; an event's `message.headers.message-id`
        is the id the Messages API answered with, without angle brackets (docs: user-manual/events/event-structure).
        """
        payload = _json_object(response)
        items = payload.get("items")
        if not isinstance(items, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without an items list")
        for item in items:
            if not isinstance(item, dict):
                continue
            variables = item.get("user-variables")
            if not isinstance(variables, dict) or variables.get(IDEMPOTENCY_VAR) != message.idempotency_key:
                continue
            if item.get("event") not in (None, ACCEPTED_EVENT):
                continue
            headers = item.get("message", {}).get("headers", {}) if isinstance(item.get("message"), dict) else {}
            raw_id = headers.get("message-id") if isinstance(headers, dict) else None
            provider_id = raw_id.strip().strip("<>") or None if isinstance(raw_id, str) else None
            return Lookup(found=True, provider_message_id=provider_id, raw_status=ACCEPTED_EVENT)
        return Lookup(found=False, detail=f"{self.display_name} has no accepted event for {message.idempotency_key}")

    # --- asking for a message's status (docs/providers.md § Asking for a status) -----------------

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """The Events API filtered by the message (`GET /v3/{domain}/events?message-id=...`): every event
        of that message (the `message-id` filter field, docs: user-manual/events/filter-field;
        https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/events/get-v3-domain_name-events)."""
        query = {"message-id": provider_message_id, "limit": str(EVENTS_LIMIT)}
        url = f"{self._base_url}/v3/{quote(self._domain, safe='')}/events?{urlencode(query)}"
        return HttpRequest(url, method="GET", headers=ACCEPT_JSON, auth=self._auth)

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """The decisive event among the message's: a permanent failure, else a delivery (or an open or
        a click, which prove one), else the latest (accepted, a temporary failure: still on its way).

        Each item is read as the webhook's `event-data` is (`mailgun_events.parse`); no event at all
        means Mailgun does not know the message.
        """
        items = _json_object(response).get("items")
        if not isinstance(items, list):
            raise ValueError("no items list")
        events = []
        for item in items:
            if isinstance(item, dict):
                try:
                    events.append((mailgun_events.parse({"event-data": item}), item))
                except (ValueError, TypeError):
                    continue
        if not events:
            return StatusAnswer(EventKind.UNKNOWN, "not found", f"{self.display_name} has no events for the message")
        events.sort(key=lambda pair: pair[0].occurred_at)
        for wanted in STATUS_PRECEDENCE:
            chosen = [pair for pair in events if pair[0].kind in wanted]
            if chosen:
                event, item = chosen[-1]
                return StatusAnswer(event.kind, event.raw_status, event.detail, event.occurred_at, json.dumps(item))
        event, item = events[-1]
        return StatusAnswer(event.kind, event.raw_status, event.detail, event.occurred_at, json.dumps(item))

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """A refused key proves little: a domain sending key may send but not read the domain."""
        if response.status_code in (401, 403):
            return None, (
                f"{self.display_name} refused the key for reading the domain ({response.status_code}): "
                "a wrong key, or a domain sending key, which can send but cannot be checked."
            )
        if response.status_code == 404:
            return False, f"{self.display_name} has no domain {self._domain} on this account."
        return super().credentials_accepted(response)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        raw_id = payload.get("id")
        # `id` is the RFC 5322 Message-ID in angle brackets; webhooks carry it without them.
        message_id = raw_id.strip().strip("<>") if isinstance(raw_id, str) and raw_id.strip("<> ") else None
        text = payload.get("message")
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        detail = text if isinstance(text, str) and text else None
        if status is SendStatus.ACCEPTED and message_id is None:
            status, detail = SendStatus.UNKNOWN, "answered 200 without a message id"
        elif status is SendStatus.UNKNOWN:
            detail = f"answered {response.status_code}, not 200"
        return SendResult(
            provider_message_id=message_id, status=status, raw_status=str(response.status_code), detail=detail
        )

    def _error(self, response: httpx.Response) -> Exception:
        # 400 bodies are {"message": ...}; 401 is plain text "Forbidden" (docs: quickstart-guide/responses).
        # 404 is documented as possibly transient (eventual consistency), but its usual cause is a
        # wrong domain, which no retry fixes: it stays permanent here.
        text = _json_object(response).get("message")
        detail = text if isinstance(text, str) and text else _short_text(response) or response.reason_phrase or "error"
        return classify_status(self.display_name, response, detail)


def _tags(extra: Mapping[str, Any]) -> list[str]:
    tags = extra.get("tags")
    if isinstance(tags, list | tuple):
        return [str(t) for t in tags if t]
    tag = extra.get("tag")
    return [str(tag)] if tag else []


def _multi_dict(fields: list[Field]) -> dict[str, str | list[str]]:
    """Form fields for httpx `data=`: a repeated key becomes a list, order kept within a key."""
    out: dict[str, str | list[str]] = {}
    for name, value in fields:
        held = out.get(name)
        if held is None:
            out[name] = value
        elif isinstance(held, list):
            held.append(value)
        else:
            out[name] = [held, value]
    return out


def _short_text(response: httpx.Response) -> str:
    text = response.text.strip()
    return text[:200] if text and not text.startswith("<") else ""


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
