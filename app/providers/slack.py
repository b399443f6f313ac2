"""Slack incoming webhook: one receipt audit summary → one `POST` to the webhook URL.

Public documentation: https://api.slack.com/messaging/webhooks

See docs/providers.md § A8. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.

This module also holds the helpers every internal-audit adapter (Slack, Teams, Zapier) shares:
`audit_facts`, the one definition of what an audit post may show, and `parse_webhook_url` with
`webhook_origin`, which keep a webhook URL (a credential) out of httpx's request log and out of
`repr`: only its scheme and host are ever shown.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar
from urllib.parse import unquote

import httpx

from app.domain.channels import Channel
from app.domain.contacts import mask_contact
from app.domain.errors import ConfigurationError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status

REDACTED = "[redacted]"
MAX_VALUE_CHARS = 200  # one fact; Slack caps a section field at 2,000 chars (block kit reference)
# Metadata keys an audit summary reads, with their labels, in display order (see `audit_facts`).
AUDIT_LABELS: tuple[tuple[str, str], ...] = (
    ("store", "Store"),
    ("sale_id", "Sale"),
    ("total", "Total"),
    ("receipt_channel", "Channel"),
    ("state", "State"),
)
_SLUG = re.compile(r"[a-z0-9_]{1,64}")


def audit_facts(message: OutboundMessage) -> list[tuple[str, str]]:
    """(label, value) pairs an internal audit post may show about one receipt, in display order.

    Read from `message.metadata`: `store` (display name), `sale_id`, `total` (formatted, e.g.
    "$42.17"), `receipt_channel` (how the customer got the receipt) and `state` (the delivery
    state); then the customer's contact (`message.to`), masked. Never the receipt body, never the raw
    contact. Keys that were not set are left out.
    """
    facts = [(label, _clip(message.metadata[key])) for key, label in AUDIT_LABELS if message.metadata.get(key)]
    if message.to:
        facts.append(("Contact", mask_contact(message.to)))
    return facts


def audit_title(message: OutboundMessage) -> str:
    """The headline of an audit post: "Receipt sent", "Receipt failed", or just "Receipt"."""
    state = message.metadata.get("state")
    return _clip(f"Receipt {state}" if state else "Receipt", 150)  # header block: 150 chars max


def summary_line(message: OutboundMessage) -> str:
    """One line, no contact at all: "Receipt S-1001 at Demo Market: sent by email ($42.17)"."""
    meta = message.metadata
    head = f"Receipt {meta['sale_id']}" if meta.get("sale_id") else "Receipt"
    if meta.get("store"):
        head += f" at {meta['store']}"
    tail = [meta.get("state") or "", f"by {meta['receipt_channel']}" if meta.get("receipt_channel") else ""]
    tail.append(f"({meta['total']})" if meta.get("total") else "")
    rest = " ".join(t for t in tail if t)
    return f"{head}: {rest}" if rest else head


def _clip(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


class _SecretFilter(logging.Filter):
    """Replaces registered secrets in every record of the logger it is attached to."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        hits = sorted((s for s in self.secrets if s in text), key=len, reverse=True)
        if hits:
            for secret in hits:
                text = text.replace(secret, REDACTED)
            record.msg, record.args = text, None
        return True


_HTTPX_FILTER = _SecretFilter()
logging.getLogger("httpx").addFilter(_HTTPX_FILTER)


def redact_in_http_logs(url: str) -> None:
    """Keep a secret URL out of httpx's log, which writes `HTTP Request: POST <full url> ...` at INFO.

    The path and query (where webhook tokens and signatures live) become `[redacted]`; the host stays.
    """
    path = httpx.URL(url).raw_path.decode("ascii")
    _HTTPX_FILTER.secrets.update(p for p in {path, unquote(path)} if len(p) >= 8)


def parse_webhook_url(value: str, provider: str, field: str = "webhook_url") -> httpx.URL:
    """Parse a secret webhook URL; the error names the field but never echoes the URL."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"{provider}: {field} is not an http(s) URL.")
    redact_in_http_logs(value)
    return url


def webhook_origin(url: httpx.URL) -> str:
    """The scheme and host (and port) of a secret webhook URL: all of it that `repr` may show."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


DAILY_SUMMARY = "daily_summary"
"""`metadata["kind"]` of the end-of-day summary: its `subject` and `text` are posted as they are."""


def daily_summary_body(message: OutboundMessage) -> dict[str, Any]:
    """The end-of-day summary: counts only, no contact and no receipt content."""
    title = _clip(message.subject or "End of day", 150)
    lines = [line for line in (message.text or "").splitlines() if line.strip()]
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    if lines:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": "\n".join(lines)[:2900]}})
    return {"text": _escape("\n".join([title, *lines])[:2900]), "blocks": blocks}


class SlackAdapter(HttpAdapter):
    """Posts an internal audit summary of one receipt to a Slack channel through an incoming webhook.

    The webhook URL is the credential (no auth header), so it is a secret. For `Channel.CHAT`,
    `message.to` is the customer's contact the summary is about; it is only ever shown masked,
    and the receipt itself never leaves the store. Slack has no idempotency key and no message id.
    """

    provider_id: ClassVar[str] = "slack"
    display_name: ClassVar[str] = "Slack"
    default_base_url: ClassVar[str] = "https://hooks.slack.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CHAT,
        max_body_chars=None,  # we build the summary ourselves
        supports_attachments=False,
        supports_templates=False,
        supports_idempotency_key=False,
        rate_per_sec=1.0,  # about one message a second per webhook (docs: api.slack.com/docs/rate-limits)
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("webhook_url", "Incoming webhook URL"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()

    def __init__(self, http: httpx.AsyncClient, *, webhook_url: str) -> None:
        self._url = parse_webhook_url(webhook_url, self.display_name)
        super().__init__(http, base_url=webhook_origin(self._url))

    def build_request(self, message: OutboundMessage) -> dict[str, Any]:
        """The JSON body for one audit summary: `text` (notification fallback), `blocks`, `metadata`."""
        self.check_channel(message)
        if message.metadata.get("kind") == DAILY_SUMMARY:
            return daily_summary_body(message)
        facts = audit_facts(message)
        meta = message.metadata
        # `text` stays even with blocks: it is the notification fallback (docs: reference/messaging/payload).
        # It carries no contact at all, masked or not.
        text = _escape(_clip(summary_line(message), 400))
        # plain_text fields: masked contacts contain "*", which mrkdwn would read as bold.
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": audit_title(message)}},
        ]
        if facts:
            fields = [{"type": "plain_text", "text": f"{label}: {value}"} for label, value in facts[:10]]
            blocks.append({"type": "section", "fields": fields})  # at most 10 fields per section
        blocks.append(
            {"type": "context", "elements": [{"type": "plain_text", "text": f"Reference {message.idempotency_key}"}]}
        )
        payload = {k: meta[k] for k in ("receipt_id", "sale_id", "delivery_id") if meta.get(k)}
        payload["idempotency_key"] = message.idempotency_key
        # Message metadata is invisible in the channel and readable by apps (docs: messaging/message-metadata).
        return {"text": text, "blocks": blocks, "metadata": {"event_type": "receipt_audit", "event_payload": payload}}

    def request(self, message: OutboundMessage) -> HttpRequest:
        return HttpRequest(str(self._url), json=self.build_request(message))

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        body = response.text.strip()
        # Success is 200 with the plain-text body "ok" (docs: changelog/2016-05-17 ... incoming-webhooks).
        status = SendStatus.ACCEPTED if response.status_code == 200 and body == "ok" else SendStatus.UNKNOWN
        return SendResult(
            provider_message_id=None,  # incoming webhooks return no message id
            status=status,
            raw_status=body[:64] or str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 200 ok",
        )

    def _error(self, response: httpx.Response) -> Exception:
        # Errors are plain-text slugs: invalid_payload, no_service, channel_not_found, rollup_error (§ A8).
        body = response.text.strip()
        code = body if _SLUG.fullmatch(body) else None
        return classify_status(self.display_name, response, code or response.reason_phrase or "error", code=code)


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn text (docs: messaging/formatting-message-text#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
