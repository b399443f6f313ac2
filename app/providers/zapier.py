"""Zapier catch hook: one "receipt sent" event → one JSON `POST` to a Webhooks by Zapier URL.

Public documentation: https://help.zapier.com/hc/en-us/articles/8496288690317

See docs/providers.md § B6 ("Us → Zapier"). The event is ours, documented below, so a Zap
author can map its fields once. The payload builder and the response parser are pure; sending,
error translation and `repr` (the hook's host only: the URL is the credential) are `HttpAdapter`'s.

Event (JSON object, every key always present, `null` when unknown; `version` changes on a breaking change)::

    {"event": "receipt.sent", "version": 1, "receipt_id", "sale_id", "delivery_id", "store",
     "total", "channel", "state", "contact_masked", "sent_at" (ISO 8601 UTC), "idempotency_key"}

`channel` is how the customer got the receipt; `contact_masked` is their contact, masked. The
receipt itself and the raw contact are never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from app.domain.channels import Channel
from app.domain.contacts import mask_contact
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status
from app.providers.slack import parse_webhook_url, webhook_origin

EVENT = "receipt.sent"
EVENT_VERSION = 1

# Catch Hook answers a fixed JSON body whose `status` is "success" (§ B6; field list UNVERIFIED).
STATUS_MAP: Mapping[str, SendStatus] = {"success": SendStatus.ACCEPTED}


class ZapierAdapter(HttpAdapter):
    """Hands a "receipt sent" event to a Zap through its Catch Hook URL.

    The hook URL is the only credential (no signature, no auth header), so it is a secret. Zapier
    has no idempotency key; ours travels in the event so the Zap can dedupe on it.
    """

    provider_id: ClassVar[str] = "zapier"
    display_name: ClassVar[str] = "Zapier"
    default_base_url: ClassVar[str] = "https://hooks.zapier.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CRM,
        max_body_chars=None,  # Catch Raw Hook takes up to 2 MB (§ B6); our event is tiny
        supports_attachments=False,
        supports_templates=False,
        supports_idempotency_key=False,  # the key is in the event, but Zapier does not dedupe on it
        rate_per_sec=None,  # hook rate limits are not published
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("webhook_url", "Catch hook URL"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()

    def __init__(self, http: httpx.AsyncClient, *, webhook_url: str) -> None:
        self._url = parse_webhook_url(webhook_url, self.display_name)
        super().__init__(http, base_url=webhook_origin(self._url))

    def build_request(self, message: OutboundMessage, *, now: datetime | None = None) -> dict[str, Any]:
        """The event for one receipt; `sent_at` is `metadata["sent_at"]`, else `now` (UTC)."""
        self.check_channel(message)
        meta = message.metadata
        sent_at = meta.get("sent_at") or (now or datetime.now(UTC)).isoformat(timespec="seconds")
        return {
            "event": EVENT,
            "version": EVENT_VERSION,
            "receipt_id": meta.get("receipt_id"),
            "sale_id": meta.get("sale_id"),
            "delivery_id": meta.get("delivery_id"),
            "store": meta.get("store"),
            "total": meta.get("total"),
            "channel": meta.get("receipt_channel"),
            "state": meta.get("state"),
            "contact_masked": mask_contact(message.to) if message.to else None,
            "sent_at": sent_at,
            "idempotency_key": message.idempotency_key,
        }

    def request(self, message: OutboundMessage) -> HttpRequest:
        return HttpRequest(str(self._url), json=self.build_request(message), headers={"Accept": "application/json"})

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        raw = payload.get("status")
        raw_status = raw if isinstance(raw, str) else str(response.status_code)
        ident = payload.get("request_id") or payload.get("id")
        status = STATUS_MAP.get(raw_status, SendStatus.UNKNOWN)
        return SendResult(
            provider_message_id=str(ident)[:128] if isinstance(ident, str | int) and ident else None,
            status=status,
            raw_status=raw_status,
            detail=None if status is SendStatus.ACCEPTED else "the hook did not answer status=success",
        )

    def _error(self, response: httpx.Response) -> Exception:
        payload = _json_object(response)
        text = payload.get("message") or payload.get("status")
        detail = text[:200] if isinstance(text, str) and text else (response.reason_phrase or "error")
        return classify_status(self.display_name, response, detail)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
