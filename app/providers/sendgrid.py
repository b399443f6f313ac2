"""SendGrid Mail Send v3: one `OutboundMessage` → one `POST /v3/mail/send` JSON body.

Public documentation: https://www.twilio.com/docs/sendgrid/api-reference/mail-send

See docs/providers.md § A2. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import PermanentProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.domain.tracking import EventKind, StatusAnswer
from app.providers import mime
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status
from app.providers.templates import RECEIPT_DATA

PATH = "/v3/mail/send"
SCOPES_PATH = "/v3/scopes"
SEND_SCOPE = "mail.send"
IDEMPOTENCY_ARG = "receiptdesk_key"
MESSAGES_PATH = "/v3/messages"
LOOKUP_LIMIT = 10
NO_ACTIVITY_API = (403, 404)
"""Answers of an account without the Email Activity add-on, or a key without its permission."""

# Mail Send answers with an HTTP status and an empty body; the status is all the "status" there is.
STATUS_MAP: Mapping[int, SendStatus] = {
    202: SendStatus.ACCEPTED,  # queued for delivery (tsg_mail_v3.json SendMail responses)
    # 200 is mail_settings.sandbox_mode: validated, never delivered (docs: sending-email/sandbox-mode),
    # so it falls through to UNKNOWN on purpose.
}


class SendGridAdapter(HttpAdapter):
    """Sends e-mail through SendGrid's v3 Mail Send API, inline content or a dynamic template.

    Auth is a Bearer API key. SendGrid has no idempotency key, so our key travels in `custom_args`,
    which SendGrid hands back on every Event Webhook event for this message.
    """

    provider_id: ClassVar[str] = "sendgrid"
    display_name: ClassVar[str] = "SendGrid"
    default_base_url: ClassVar[str] = "https://api.sendgrid.com"  # EU subusers: https://api.eu.sendgrid.com
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,
        supports_attachments=True,
        supports_templates=True,
        supports_idempotency_key=False,  # no idempotency key in tsg_mail_v3.json
        rate_per_sec=None,  # no mail/send limit is published; 429 + X-RateLimit-Reset tells us
        delivery_receipts=True,  # Event Webhook, PROVIDERS.md § B7
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_key", "API key"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("from_email", "Sender e-mail address"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("base_url", "API base URL", required=False),
        SettingField("template_id", "Receipt dynamic template id (d-...)", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("from_email", "base_url")
    credential_check_doc: ClassVar[str | None] = (
        "https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/"
        "retrieve-a-list-of-scopes-for-which-this-user-has-access"
    )
    lookup_doc: ClassVar[str | None] = (
        "https://www.twilio.com/docs/sendgrid/api-reference/email-activity/filter-all-messages"
    )
    """Only accounts that bought the Email Activity history add-on, with a key that may read it, can be
    asked; any other answers 403 or 404, and an attempt in doubt follows the email in-doubt policy."""
    lookup_refused: ClassVar[frozenset[int]] = frozenset(NO_ACTIVITY_API) | {401}

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
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._from_email = from_email
        self._from_name = from_name or None
        self._reply_to = reply_to or None
        self._template_id = (template_id or "").strip() or None

    def receipt_template(self, message: OutboundMessage) -> str | None:
        """The store's dynamic template when `message` carries a receipt's data (`app.providers.templates`)."""
        if self._template_id and RECEIPT_DATA in message.provider_extra:
            return self._template_id
        return None

    def template_refused(self, error: PermanentProviderError) -> bool:
        """A 400 naming `template_id` (e.g. "The template id must be a valid template id for your account"):
        https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors"""
        return error.status_code == 400 and "template_id" in error.message

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body for one message."""
        self.check_channel(message)
        extra = message.provider_extra
        template_id = extra.get("template_id")
        data = extra.get("dynamic_template_data")
        store_template = self.receipt_template(message)
        if store_template:
            # The store's receipt design: the template supplies subject and content, the receipt's data goes
            # in dynamic_template_data (docs: sendgrid/ui/sending-email/how-to-send-an-email-with-dynamic-templates).
            template_id, data = store_template, extra[RECEIPT_DATA]

        personalization: dict[str, Any] = {"to": [{"email": message.to}]}
        # Top-level custom_args is typed "string" in tsg_mail_v3.json; the per-personalization object
        # is valid everywhere and reaches the Event Webhook all the same.
        personalization["custom_args"] = {**message.metadata, IDEMPOTENCY_ARG: message.idempotency_key}
        sender: dict[str, str] = {"email": self._from_email}
        if self._from_name:
            sender["name"] = self._from_name
        body: dict[str, Any] = {"personalizations": [personalization], "from": sender}
        if message.subject and not store_template:
            body["subject"] = message.subject

        if template_id:
            body["template_id"] = str(template_id)
            if data:
                personalization["dynamic_template_data"] = dict(data)
        else:
            content = []
            # text/plain must come before text/html (docs: api-reference/mail-send, "content").
            if message.text:
                content.append({"type": "text/plain", "value": message.text})
            if message.html:
                content.append({"type": "text/html", "value": message.html})
            if not content:
                raise PermanentProviderError(f"{self.display_name}: the message has no text, html or template_id.")
            body["content"] = content

        if message.attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(a.content).decode("ascii"),  # base64 (tsg_mail_v3.json)
                    "filename": a.filename,
                    "type": a.content_type,
                    "disposition": "inline" if a.content_id else "attachment",
                    # An inline image names its Content-ID for the HTML's cid: reference (attachments[].content_id,
                    # https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send).
                    **({"content_id": a.content_id} if a.content_id else {}),
                }
                for a in message.attachments
            ]
        categories = extra.get("categories")
        if categories:
            body["categories"] = [str(c) for c in categories]
        if self._reply_to:
            body["reply_to"] = {"email": self._reply_to}
        # The same Message-ID on every attempt of one delivery (top-level `headers`, tsg_mail_v3.json).
        body["headers"] = {"Message-ID": mime.message_id(message.idempotency_key, self._from_email)}
        # Extra headers (List-Unsubscribe, List-Unsubscribe-Post) go in the same object; only a few are reserved
        # (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send, "headers").
        body["headers"].update(message.headers)
        return PATH, body

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers=self._headers)

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """Filter all messages (`GET /v3/messages`) by our `custom_args` reference.

        The query is `unique_args['receiptdesk_key']="<key>"` (custom_args are the activity feed's
        `unique_args`; query format `{query_type}="{query_content}"`, URL-encoded, docs:
        for-developers/sending-email/getting-started-email-activity-api). The reference is unique
        to the delivery, so no time bound is added.
        """
        key = message.idempotency_key.replace("\\", "\\\\").replace('"', '\\"')
        query = urlencode({"limit": str(LOOKUP_LIMIT), "query": f"unique_args['{IDEMPOTENCY_ARG}']=\"{key}\""})
        return HttpRequest(f"{self._base_url}{MESSAGES_PATH}?{query}", method="GET", headers=self._headers)

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when the answer's `messages` list holds one; its `msg_id` and `status` are kept."""
        payload = _json_object(response)
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a messages list")
        for item in messages:
            if isinstance(item, dict):
                msg_id, status = item.get("msg_id"), item.get("status")
                return Lookup(
                    found=True,
                    provider_message_id=msg_id if isinstance(msg_id, str) and msg_id else None,
                    raw_status=status if isinstance(status, str) and status else None,
                )
        return Lookup(found=False, detail=f"{self.display_name} has no message for {message.idempotency_key}")

    # --- status check: asking for a message's status (docs/providers.md § Asking for a status) ---

    status_doc: ClassVar[str | None] = (
        "https://www.twilio.com/docs/sendgrid/api-reference/email-activity/filter-all-messages"
    )
    status_refused: ClassVar[frozenset[int]] = frozenset(NO_ACTIVITY_API) | {401}
    """Without the Email Activity add-on (or the `messages.read` scope) the feed answers 403 or 404."""
    status_words: ClassVar[Mapping[str, EventKind]] = {
        # a message's `status` in the Email Activity feed
        "processed": EventKind.ACCEPTED,
        "processing": EventKind.ACCEPTED,
        "delivered": EventKind.DELIVERED,
        "not_delivered": EventKind.BOUNCED,
    }

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """The same Email Activity query as the lookup (`GET /v3/messages`, by our `custom_args`
        reference): a message's `msg_id` is the `X-Message-Id` of the send with a suffix, so the reference
        finds it where the id alone would need a pattern. Without a reference it cannot be asked."""
        if not reference:
            return None
        key = reference.replace("\\", "\\\\").replace('"', '\\"')
        query = urlencode({"limit": str(LOOKUP_LIMIT), "query": f"unique_args['{IDEMPOTENCY_ARG}']=\"{key}\""})
        return HttpRequest(f"{self._base_url}{MESSAGES_PATH}?{query}", method="GET", headers=self._headers)

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """The `status` of the message whose `msg_id` starts with the send's `X-Message-Id` (else the first):
        `delivered`, `not_delivered` (a bounce, block or drop), `processed` (still on its way)."""
        messages = _json_object(response).get("messages")
        if not isinstance(messages, list):
            raise ValueError("no messages list")
        found = [m for m in messages if isinstance(m, dict)]
        mine = [m for m in found if str(m.get("msg_id") or "").startswith(provider_message_id)] or found
        if not mine:
            return StatusAnswer(EventKind.UNKNOWN, "not found", f"{self.display_name} has no such message")
        status = str(mine[0].get("status") or "unknown")
        return StatusAnswer(self.status_words.get(status, EventKind.UNKNOWN), status, raw=json.dumps(mine[0]))

    # --- end of the status check ---------------------------------------------------------------

    def credential_request(self) -> HttpRequest | None:
        """`GET /v3/scopes`: the permissions of the API key it is called with."""
        return HttpRequest(self._base_url + SCOPES_PATH, method="GET", headers=self._headers)

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """Accepted only when the key may send: its scopes include `mail.send`."""
        accepted, detail = super().credentials_accepted(response)
        payload = _json_object(response)
        scopes = payload.get("scopes")
        if accepted and isinstance(scopes, list) and SEND_SCOPE not in scopes:
            return False, f"{self.display_name} accepted the API key, but it lacks the {SEND_SCOPE} permission."
        return accepted, detail

    def parse_response(self, response: httpx.Response, *, now: float | None = None) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response, now=time.time() if now is None else now)
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        return SendResult(
            # The message id comes only in a header (docs: sendgrid/glossary/x-message-id).
            provider_message_id=response.headers.get("X-Message-Id") or None,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 202",
        )

    def _error(self, response: httpx.Response, *, now: float) -> Exception:
        # Error body is {"errors": [{"message", "field", "help"}]} (docs: api-reference/mail-send/errors).
        detail = _error_detail(response) or response.reason_phrase or "error"
        retry_after = None
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            # No Retry-After is documented; X-RateLimit-Reset is (docs: .../how-to-use-the-sendgrid-v3-api/rate-limits).
            retry_after = rate_limit_wait(response.headers, now=now)
        return classify_status(self.display_name, response, detail, retry_after=retry_after)


def rate_limit_wait(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset` (epoch seconds), or None when absent or malformed."""
    value = headers.get("X-RateLimit-Reset")
    if not value:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    return max(0.0, reset - now)


def _error_detail(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return ""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for err in errors:
        if isinstance(err, dict) and err.get("message"):
            field = err.get("field")
            parts.append(f"{err['message']} ({field})" if field else str(err["message"]))
    return "; ".join(parts)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
