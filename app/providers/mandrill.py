"""Mandrill (Mailchimp Transactional): one `OutboundMessage` → one `POST /api/1.0/messages/send.json`.

Public documentation: https://mailchimp.com/developer/transactional/api/messages/

See docs/providers.md § A4. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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

SEND_PATH = "/api/1.0/messages/send.json"
TEMPLATE_PATH = "/api/1.0/messages/send-template.json"
PING_PATH = "/api/1.0/users/ping2.json"
SEARCH_PATH = "/api/1.0/messages/search.json"
INFO_PATH = "/api/1.0/messages/info.json"  # the status check (messages/info)
SEARCH_LIMIT = 10
IDEMPOTENCY_META = "receiptdesk_key"
"""Our key travels in `message.metadata`, which Mandrill returns on every webhook event."""

# Per-recipient `status` of the send answer (docs: transactional/api/messages/send-new-message).
STATUS_MAP: Mapping[str, SendStatus] = {
    "sent": SendStatus.ACCEPTED,
    "queued": SendStatus.ACCEPTED,
    "scheduled": SendStatus.ACCEPTED,
    "rejected": SendStatus.REJECTED,
    "invalid": SendStatus.REJECTED,
}

# Error `name` → retry or not. Mandrill has answered HTTP 500 for every API error, so the name, not the
# status, decides (PROVIDERS.md § A4); a name not listed here falls back on the HTTP status.
TRANSIENT_ERRORS = frozenset({"GeneralError"})
PERMANENT_ERRORS = frozenset({"Invalid_Key", "ValidationError", "PaymentRequired"})  # and every Unknown_*
UNKNOWN_TEMPLATE = "Unknown_Template"
"""The template named does not exist (docs: transactional/api/messages/send-using-message-template, errors)."""


class MandrillAdapter(HttpAdapter):
    """Sends e-mail through Mandrill's `messages/send` or, with a template, `messages/send-template`.

    The API key goes in the JSON body as `key`; there is no auth header. A 200 answer is a list of
    per-recipient results: a refused recipient is `REJECTED` with its `reject_reason` in `detail`.
    """

    provider_id: ClassVar[str] = "mandrill"
    display_name: ClassVar[str] = "Mandrill"
    default_base_url: ClassVar[str] = "https://mandrillapp.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,
        supports_attachments=True,
        supports_templates=True,
        supports_idempotency_key=False,  # none documented
        rate_per_sec=None,  # none documented
        delivery_receipts=True,  # webhooks
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_key", "API key"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("from_email", "Sender e-mail address"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("base_url", "API base URL", required=False),
        SettingField("template_id", "Receipt template name (slug)", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("from_email", "base_url")
    credential_check_doc: ClassVar[str | None] = "https://mailchimp.com/developer/transactional/api/users/ping/"
    lookup_doc: ClassVar[str | None] = (
        "https://mailchimp.com/developer/transactional/api/messages/search-messages-by-date/"
    )
    """Metadata is searchable only for fields the account indexes (Settings → Sending Defaults →
    Custom Metadata): `receiptdesk_key` must be one of them, or the search finds nothing."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        from_email: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        base_url: str | None = None,
        template_id: str | None = None,
    ) -> None:
        super().__init__(http, base_url=base_url)
        self._api_key = api_key
        self._from_email = from_email
        self._from_name = from_name or None
        self._reply_to = reply_to or None
        self._template_name = (template_id or "").strip() or None

    def receipt_template(self, message: OutboundMessage) -> str | None:
        """The store's template name when `message` carries a receipt's data (`app.providers.templates`)."""
        if self._template_name and RECEIPT_DATA in message.provider_extra:
            return self._template_name
        return None

    def template_refused(self, error: PermanentProviderError) -> bool:
        """Mandrill's `Unknown_Template` error: no template of that name in the account."""
        return error.code == UNKNOWN_TEMPLATE

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body for one message (the body holds the API key)."""
        self.check_channel(message)
        extra = message.provider_extra
        template_name = extra.get("template_name")
        merge_vars, merge_language = extra.get("merge_vars"), extra.get("merge_language")
        store_template = self.receipt_template(message)
        if store_template:
            # The store's receipt design: the template supplies the content, the receipt's data goes in
            # global_merge_vars, one var per top-level key; lines and tenders are lists, which only the
            # handlebars merge language reads (docs: transactional/docs/templates-dynamic-content).
            template_name, merge_vars, merge_language = store_template, extra[RECEIPT_DATA], "handlebars"
            message = replace(message, html=None, text=None)
        if not template_name and not message.text and not message.html:
            raise PermanentProviderError(f"{self.display_name}: the message has no text, html or template_name.")

        mail: dict[str, Any] = {}
        if message.html:
            mail["html"] = message.html
        if message.text:
            mail["text"] = message.text
        if message.subject:
            mail["subject"] = message.subject
        mail["from_email"] = self._from_email
        if self._from_name:
            mail["from_name"] = self._from_name
        mail["to"] = [{"email": message.to, "type": "to"}]
        # The same Message-ID on every attempt of one delivery (message.headers, docs: messages/send).
        mail["headers"] = {"Message-Id": mime.message_id(message.idempotency_key, self._from_email)}
        if self._reply_to:
            mail["headers"]["Reply-To"] = self._reply_to
        # Extra headers (List-Unsubscribe): message.headers takes "most headers"
        # (https://mailchimp.com/developer/transactional/api/messages/send-new-message/).
        mail["headers"].update(message.headers)
        tags = extra.get("tags")
        if tags:
            mail["tags"] = [str(t) for t in tags]
        mail["metadata"] = {**message.metadata, IDEMPOTENCY_META: message.idempotency_key}
        files = [a for a in message.attachments if not a.content_id]
        images = [a for a in message.attachments if a.content_id]
        if files:
            mail["attachments"] = [
                {"type": a.content_type, "name": a.filename, "content": base64.b64encode(a.content).decode("ascii")}
                for a in files
            ]
        if images:
            # Inline images go in `images`; each `name` is its Content-ID, shown by <img src="cid:name">
            # (https://mailchimp.com/developer/transactional/api/messages/send-new-message/).
            mail["images"] = [
                {"type": a.content_type, "name": a.content_id, "content": base64.b64encode(a.content).decode("ascii")}
                for a in images
            ]
        if not template_name:
            return SEND_PATH, {"key": self._api_key, "message": mail}

        if merge_vars:
            mail["global_merge_vars"] = [{"name": str(k), "content": v} for k, v in dict(merge_vars).items()]
        if merge_language:
            mail["merge_language"] = str(merge_language)  # "mailchimp" or "handlebars"
        # template_content is required even when empty (docs: send-using-message-template).
        content = [{"name": str(k), "content": v} for k, v in dict(extra.get("template_content") or {}).items()]
        body = {"key": self._api_key, "template_name": str(template_name), "template_content": content}
        return TEMPLATE_PATH, body | {"message": mail}

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers={"Accept": "application/json"})

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """Search (`POST /api/1.0/messages/search.json`) for our `metadata` reference since `sent_after`'s day.

        The query `u_<field>:"<value>"` matches a custom metadata field (the search syntax of Mandrill's
        "search outbound activity" help; fields must be indexed); `date_from` is a date, and a day
        early covers any time zone (docs above).
        """
        key = message.idempotency_key.replace("\\", "\\\\").replace('"', '\\"')
        body = {
            "key": self._api_key,
            "query": f'u_{IDEMPOTENCY_META}:"{key}"',
            "date_from": (sent_after - timedelta(days=1)).strftime("%Y-%m-%d"),
            "limit": SEARCH_LIMIT,
        }
        return HttpRequest(self._base_url + SEARCH_PATH, json=body, headers={"Accept": "application/json"})

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when the answer (a list of messages) holds one whose `metadata` carries our reference."""
        payload = _json(response)
        if isinstance(payload, dict) and payload.get("status") == "error":
            name = payload.get("name")
            return Lookup(found=None, detail=f"{self.display_name} refused the lookup ({name})")
        if not isinstance(payload, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a list")
        for item in payload:
            if not isinstance(item, dict):
                continue
            metadata = item.get("metadata")
            if isinstance(metadata, dict) and metadata.get(IDEMPOTENCY_META) not in (None, message.idempotency_key):
                continue
            message_id, state = item.get("_id"), item.get("state")
            return Lookup(
                found=True,
                provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
                raw_status=state if isinstance(state, str) and state else None,
            )
        return Lookup(found=False, detail=f"{self.display_name} has no message for {message.idempotency_key}")

    # --- status check: asking for a message's status (docs/providers.md § Asking for a status) ---

    status_doc: ClassVar[str | None] = "https://mailchimp.com/developer/transactional/api/messages/get-message-info/"
    status_states: ClassVar[Mapping[str, EventKind]] = {
        # `state` of messages/info (and of the search results). `sent` alone is what the `send` webhook
        # says (accepted); it is a delivery only with an SMTP event `sent` (the recipient's server took it).
        "sent": EventKind.ACCEPTED,
        "bounced": EventKind.BOUNCED,
        "soft-bounced": EventKind.DEFERRED,
        "deferred": EventKind.DEFERRED,
        "rejected": EventKind.DROPPED,
        "spam": EventKind.SPAM_REPORT,
        "unsub": EventKind.UNSUBSCRIBED,
        "queued": EventKind.ACCEPTED,
        "scheduled": EventKind.ACCEPTED,
    }

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """Message info (`POST /api/1.0/messages/info.json` with `key` and `id`):
        https://mailchimp.com/developer/transactional/api/messages/get-message-info/"""
        body = {"key": self._api_key, "id": provider_message_id}
        return HttpRequest(self._base_url + INFO_PATH, json=body, headers={"Accept": "application/json"})

    def status_not_found(self, response: httpx.Response) -> bool:
        """Mandrill answers every error with HTTP 500; an id it does not know is `Unknown_Message`."""
        payload = _json(response)
        return isinstance(payload, dict) and payload.get("name") == "Unknown_Message"

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """The message's `state`, with the last SMTP event's diagnostic (`smtp_events[].diag`) as detail;
        `sent` with an SMTP event `sent` (the receiving server's 250) is a delivery."""
        payload = _json(response)
        if not isinstance(payload, dict) or not isinstance(payload.get("state"), str):
            raise ValueError("no state in the message info")
        state = payload["state"]
        events = payload.get("smtp_events")
        last = events[-1] if isinstance(events, list) and events and isinstance(events[-1], dict) else {}
        diag = last.get("diag") or payload.get("bounce_description")
        when = last.get("ts") if isinstance(last.get("ts"), int | float) else None
        kind = self.status_states.get(state, EventKind.UNKNOWN)
        if kind is EventKind.ACCEPTED and state == "sent" and last.get("type") == "sent":
            kind = EventKind.DELIVERED
        return StatusAnswer(
            kind,
            state,
            str(diag)[:200] if diag else None,
            datetime.fromtimestamp(when, UTC) if when is not None else None,
            json.dumps(payload),
        )

    # --- end of the status check ---------------------------------------------------------------

    def credential_request(self) -> HttpRequest | None:
        """Ping (`POST /api/1.0/users/ping2.json`): validates the API key and answers `{"PING": "PONG!"}`."""
        return HttpRequest(
            self._base_url + PING_PATH, json={"key": self._api_key}, headers={"Accept": "application/json"}
        )

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """Mandrill answers every error with HTTP 500, so its error name decides: `Invalid_Key` is a refusal."""
        payload = _json(response)
        name = payload.get("name") if isinstance(payload, dict) else None
        if name == "Invalid_Key":
            return False, f"{self.display_name} refused the API key (Invalid_Key)."
        if response.is_success and not (isinstance(payload, dict) and payload.get("PING")):
            return None, f"{self.display_name} answered the ping without a PONG."
        return super().credentials_accepted(response)

    def result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        return self.parse_response(response, to=message.to)

    def parse_response(self, response: httpx.Response, *, to: str | None = None) -> SendResult:
        """The result for recipient `to` (else the first) of a 2xx answer; raises the classified error otherwise."""
        payload = _json(response)
        if not response.is_success or (isinstance(payload, dict) and payload.get("status") == "error"):
            raise self._error(response, payload)
        results = [r for r in payload if isinstance(r, dict)] if isinstance(payload, list) else []
        if not results:
            return SendResult(None, SendStatus.UNKNOWN, str(response.status_code), "answered without results")
        mine = next((r for r in results if to and str(r.get("email", "")).lower() == to.lower()), results[0])
        raw = mine.get("status")
        raw_status = raw if isinstance(raw, str) and raw else None
        status = STATUS_MAP.get(raw_status or "", SendStatus.UNKNOWN)
        message_id = mine.get("_id")
        reason = mine.get("reject_reason") or mine.get("queued_reason")
        detail = f"{raw_status}: {reason}" if reason else None
        return SendResult(
            provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
            status=status,
            raw_status=raw_status or str(response.status_code),
            detail=detail,
        )

    def _error(self, response: httpx.Response, payload: Any) -> Exception:
        # Errors are {status: "error", code, name, message} (PROVIDERS.md § A4).
        error = payload if isinstance(payload, dict) else {}
        name = error.get("name") if isinstance(error.get("name"), str) else None
        text = error.get("message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        if name:
            detail = f"{detail} ({name})"
        status = response.status_code
        message = f"{self.display_name} answered {status}: {detail}"
        if name in TRANSIENT_ERRORS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TransientProviderError(message, status_code=status, code=name, retry_after=retry_after)
        if name in PERMANENT_ERRORS or (name or "").startswith("Unknown_"):
            return PermanentProviderError(message, status_code=status, code=name)
        if response.is_success:  # {"status": "error"} with 200 and a name we do not know
            return PermanentProviderError(message, status_code=status, code=name)
        return classify_status(self.display_name, response, detail, code=name)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
