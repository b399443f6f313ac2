"""Postmark: one `OutboundMessage` → one `POST /email` (or `/email/withTemplate`) JSON body.

Public documentation: https://postmarkapp.com/developer/user-guide/send-email-with-api

See docs/providers.md § A10. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import formataddr
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.domain.tracking import EventKind, StatusAnswer
from app.providers import mime
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status, parse_retry_after
from app.providers.templates import RECEIPT_DATA

EMAIL_PATH = "/email"
TEMPLATE_PATH = "/email/withTemplate"
DEFAULT_STREAM = "outbound"  # the default transactional message stream (PROVIDERS.md § A10)
IDEMPOTENCY_META = "receiptdesk_key"
"""Our key travels in `Metadata`, which Postmark returns on delivery and bounce webhooks."""

SEARCH_PATH = "/messages/outbound"
SEARCH_COUNT = 50  # count is required, at most 500 (docs: api/messages-api)
SEARCH_MARGIN = timedelta(days=1)
"""`fromdate` is read in US Eastern time (docs: api/messages-api): a day early covers any offset; the
reference is unique to the delivery, so a wider window finds nothing more."""

# A send answers 200 with ErrorCode 0; the HTTP status is the only "status" there is.
STATUS_MAP: Mapping[int, SendStatus] = {200: SendStatus.ACCEPTED}
INACTIVE_RECIPIENT = 406  # recipient suppressed after a hard bounce or spam complaint: refused, not an outage
# Postmark API error codes (postmark-python exceptions._ERROR_CODE_MAP and PROVIDERS.md § A10).
PERMANENT_CODES: Mapping[int, str] = {
    10: "bad or missing server token",
    300: "invalid email request",
    400: "sender signature not found",
    401: "sender signature not confirmed",
    402: "invalid JSON",
    405: "not allowed to send",
    409: "JSON required",
    411: "forbidden attachment type",
    412: "account pending",
    413: "account may not send",
    701: "illegal attachment type",
}
TRANSIENT_CODES: Mapping[int, str] = {100: "maintenance"}
TEMPLATE_CODES = range(1100, 1200)
"""Template errors (1101 "Template not found", 1120-1123 template fields): the template's fault, not the
account's (https://postmarkapp.com/developer/api/overview#error-codes)."""


class PostmarkAdapter(HttpAdapter):
    """Sends e-mail through Postmark's single-send API, inline content or a stored template.

    Auth is the `X-Postmark-Server-Token` header. Postmark has no idempotency key, so ours
    travels in `Metadata`. An inactive (suppressed) recipient is `REJECTED`, not an error.
    """

    provider_id: ClassVar[str] = "postmark"
    display_name: ClassVar[str] = "Postmark"
    default_base_url: ClassVar[str] = "https://api.postmarkapp.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,  # 10 MB per message, attachments included
        supports_attachments=True,
        supports_templates=True,
        supports_idempotency_key=False,  # none documented
        rate_per_sec=None,  # none published; 429 tells us
        delivery_receipts=True,  # delivery/bounce webhooks, PROVIDERS.md § B9
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("server_token", "Server API token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("from_email", "Sender e-mail address"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("message_stream", "Message stream", required=False),
        SettingField("base_url", "API base URL", required=False),
        SettingField("template_id", "Receipt template alias or id", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("from_email", "base_url")
    credential_check_doc: ClassVar[str | None] = "https://postmarkapp.com/developer/api/server-api#get-server"
    lookup_doc: ClassVar[str | None] = "https://postmarkapp.com/developer/api/messages-api#outbound-message-search"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        server_token: str,
        from_email: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        message_stream: str | None = None,
        base_url: str | None = None,
        template_id: str | int | None = None,
    ) -> None:
        super().__init__(http, base_url=base_url)
        self._headers = {"X-Postmark-Server-Token": server_token, "Accept": "application/json"}
        self._from_email = from_email
        self._from_name = from_name or None
        self._reply_to = reply_to or None
        self._stream = message_stream or DEFAULT_STREAM
        self._template = str(template_id or "").strip() or None

    def receipt_template(self, message: OutboundMessage) -> str | None:
        """The store's template (alias or id) when `message` carries a receipt's data (`app.providers.templates`)."""
        if self._template and RECEIPT_DATA in message.provider_extra:
            return self._template
        return None

    def template_refused(self, error: PermanentProviderError) -> bool:
        """A Postmark template error (ErrorCode 1100-1199, e.g. 1101 "Template not found")."""
        return error.code is not None and error.code.isdigit() and int(error.code) in TEMPLATE_CODES

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body (PascalCase keys) for one message."""
        self.check_channel(message)
        extra = message.provider_extra
        template_id, template_alias = extra.get("template_id"), extra.get("template_alias")
        model = extra.get("template_model")
        store_template = self.receipt_template(message)
        if store_template:
            # The store's receipt design: a number is a TemplateId, anything else a TemplateAlias, and the
            # receipt's data is the TemplateModel (docs: api/templates-api#email-with-template).
            template_id, template_alias = (store_template, None) if store_template.isdigit() else (None, store_template)
            model = extra[RECEIPT_DATA]
        templated = bool(template_id or template_alias)
        if not templated and not message.text and not message.html:
            raise PermanentProviderError(f"{self.display_name}: the message has no text, html or template.")

        body: dict[str, Any] = {}
        if template_id:
            try:
                body["TemplateId"] = int(template_id)  # an integer (postmark-python TemplateEmail.template_id)
            except (TypeError, ValueError):
                raise PermanentProviderError(f"{self.display_name}: template_id must be a number.") from None
        elif template_alias:
            body["TemplateAlias"] = str(template_alias)
        if templated:
            # The template supplies Subject and bodies; TemplateModel is always sent (may be {}).
            body["TemplateModel"] = dict(model or {})
        sender = formataddr((self._from_name, self._from_email)) if self._from_name else self._from_email
        body |= {"From": sender, "To": message.to}
        if not templated:
            if message.subject:
                body["Subject"] = message.subject
            if message.html:
                body["HtmlBody"] = message.html
            if message.text:
                body["TextBody"] = message.text
        if self._reply_to:
            body["ReplyTo"] = self._reply_to
        if extra.get("tag"):
            body["Tag"] = str(extra["tag"])  # one tag per message
        if message.attachments:
            body["Attachments"] = [
                {
                    "Name": a.filename,
                    "Content": base64.b64encode(a.content).decode("ascii"),
                    "ContentType": a.content_type,
                    # An inline image: ContentID "cid:<id>", shown by <img src="cid:<id>"> (docs:
                    # https://postmarkapp.com/developer/user-guide/send-email-with-api#attachments).
                    **({"ContentID": f"cid:{a.content_id}"} if a.content_id else {}),
                }
                for a in message.attachments
            ]
        # The same Message-ID on every attempt of one delivery (custom `Headers`, docs: send-email-with-api).
        body["Headers"] = [{"Name": "Message-ID", "Value": mime.message_id(message.idempotency_key, self._from_email)}]
        # Extra headers (List-Unsubscribe, List-Unsubscribe-Post) in the same list
        # (https://postmarkapp.com/developer/api/email-api#send-a-single-email, "Headers").
        body["Headers"] += [{"Name": name, "Value": value} for name, value in message.headers.items()]
        body["Metadata"] = {**message.metadata, IDEMPOTENCY_META: message.idempotency_key}
        body["MessageStream"] = self._stream
        return (TEMPLATE_PATH if templated else EMAIL_PATH), body

    def credential_request(self) -> HttpRequest | None:
        """Get the server (`GET /server`): the settings of the server the token belongs to."""
        return HttpRequest(self._base_url + "/server", method="GET", headers=self._headers)

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers=self._headers)

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """Outbound message search (`GET /messages/outbound`) by our `Metadata` reference.

        `metadata_<key>=<value>` filters on one metadata field (docs: support/article/1125-custom-metadata-faq);
        `count` and `offset` are required; `fromdate` narrows the search (docs: api/messages-api).
        """
        query = {
            "count": str(SEARCH_COUNT),
            "offset": "0",
            f"metadata_{IDEMPOTENCY_META}": message.idempotency_key,
            "fromdate": (sent_after - SEARCH_MARGIN).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return HttpRequest(f"{self._base_url}{SEARCH_PATH}?{urlencode(query)}", method="GET", headers=self._headers)

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when `Messages` holds one whose `Metadata` carries our reference; its `MessageID` and `Status` kept."""
        payload = _json_object(response)
        messages = payload.get("Messages")
        if not isinstance(messages, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a Messages list")
        for item in messages:
            if not isinstance(item, dict):
                continue
            metadata = item.get("Metadata")
            if isinstance(metadata, dict) and metadata.get(IDEMPOTENCY_META) not in (None, message.idempotency_key):
                continue
            message_id, status = item.get("MessageID"), item.get("Status")
            return Lookup(
                found=True,
                provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
                raw_status=status if isinstance(status, str) and status else None,
            )
        return Lookup(found=False, detail=f"{self.display_name} has no message for {message.idempotency_key}")

    # --- status check: asking for a message's status (docs/providers.md § Asking for a status) ---

    status_doc: ClassVar[str | None] = "https://postmarkapp.com/developer/api/messages-api#outbound-message-details"
    status_events: ClassVar[Mapping[str, EventKind]] = {
        # MessageEvents[].Type (the docs' example and the postmark.js MessageEventInfo types)
        "Delivered": EventKind.DELIVERED,
        "Bounced": EventKind.BOUNCED,
        "Transient": EventKind.DEFERRED,
        "Opened": EventKind.OPENED,
        "LinkClicked": EventKind.CLICKED,
        "SubscriptionChanged": EventKind.UNSUBSCRIBED,
    }

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """Outbound message details (`GET /messages/outbound/{messageid}/details`):
        https://postmarkapp.com/developer/api/messages-api#outbound-message-details"""
        path = f"/messages/outbound/{quote(provider_message_id, safe='')}/details"
        return HttpRequest(self._base_url + path, method="GET", headers=self._headers)

    def status_not_found(self, response: httpx.Response) -> bool:
        """Postmark answers an unknown MessageID with 422 and ErrorCode 701 ("message not found")."""
        return response.status_code == 422 and _error_code(_json_object(response)) == 701

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """A bounce among `MessageEvents`, else a delivery (an open or a click prove one), else the message's
        own `Status` (`Queued`, `Processed`, `Sent`: still on its way)."""
        payload = _json_object(response)
        events = payload.get("MessageEvents")
        if not isinstance(events, list):
            raise ValueError("no MessageEvents list")
        read = []
        for item in events:
            if isinstance(item, dict) and isinstance(item.get("Type"), str):
                kind = self.status_events.get(item["Type"], EventKind.UNKNOWN)
                details = item.get("Details")
                summary = details.get("Summary") if isinstance(details, dict) else None
                read.append((kind, item["Type"], summary if isinstance(summary, str) else None, item))
        for wanted in ({EventKind.BOUNCED}, {EventKind.DELIVERED, EventKind.OPENED, EventKind.CLICKED}):
            for kind, name, summary, item in reversed(read):
                if kind in wanted:
                    return StatusAnswer(kind, name, summary, _iso(item.get("ReceivedAt")), json.dumps(item))
        status = payload.get("Status")
        raw = status if isinstance(status, str) and status else "unknown"
        return StatusAnswer(EventKind.ACCEPTED, raw, raw=json.dumps({"Status": raw, "MessageEvents": events}))

    # --- end of the status check ---------------------------------------------------------------

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer with ErrorCode 0 or an inactive recipient; raises otherwise."""
        payload = _json_object(response)
        code = _error_code(payload)
        if code == INACTIVE_RECIPIENT:
            return SendResult(None, SendStatus.REJECTED, str(code), _text(payload) or "inactive recipient")
        if not response.is_success or code:
            raise self._error(response, payload, code)
        message_id = payload.get("MessageID")
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        return SendResult(
            provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 200",
        )

    def _error(self, response: httpx.Response, payload: dict[str, Any], code: int | None) -> Exception:
        # Error body is {ErrorCode, Message}; 422 for API errors, 401 bad token, 429, 500/503 (PROVIDERS.md § A10).
        detail = _text(payload) or response.reason_phrase or "error"
        code_text = None if code is None else str(code)
        if code is not None:
            detail = f"{detail} (Postmark error {code})"
        status = response.status_code
        message = f"{self.display_name} answered {status}: {detail}"
        if code in TRANSIENT_CODES or (code is not None and (status == 429 or status >= 500)):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TransientProviderError(message, status_code=status, code=code_text, retry_after=retry_after)
        if code in PERMANENT_CODES or (code is not None and response.is_success):
            return PermanentProviderError(message, status_code=status, code=code_text)
        return classify_status(self.display_name, response, detail, code=code_text)


def _error_code(payload: Mapping[str, Any]) -> int | None:
    value = payload.get("ErrorCode")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(payload: Mapping[str, Any]) -> str | None:
    text = payload.get("Message")
    return text if isinstance(text, str) and text else None


def _iso(value: Any) -> datetime | None:
    """An ISO 8601 time of Postmark's (`2026-11-28T10:15:00.0000000-05:00`) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # at most six fractional digits for fromisoformat
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
