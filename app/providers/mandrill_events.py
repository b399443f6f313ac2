"""Mandrill webhooks: X-Mandrill-Signature and the event vocabulary.

Mandrill "Authenticating webhook requests": base64 HMAC-SHA1 with the webhook's key over the webhook
URL followed by each POST field name and value, sorted by name (the body is one field,
`mandrill_events`, a JSON array), read with the bounded loader once the signature holds.

No replay window: the signature covers no time of sending, and each event's `ts` is when the event
happened (events are batched and retried), not when the request left. A replayed batch is recognised
by its event ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField
from app.domain.tracking import EventKind, StatusEvent
from app.providers.callbacks import StatusCallbacks
from app.support.json_limits import loads

EVENTS: dict[str, EventKind] = {
    "send": EventKind.ACCEPTED,
    "deferral": EventKind.DEFERRED,
    "hard_bounce": EventKind.BOUNCED,
    "soft_bounce": EventKind.DEFERRED,
    "reject": EventKind.DROPPED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
    "spam": EventKind.SPAM_REPORT,
    "unsub": EventKind.UNSUBSCRIBED,
}


class MandrillCallbacks(StatusCallbacks):
    """Mandrill webhooks: a form post signed over the URL Mandrill called and the form fields."""

    provider_id: ClassVar[str] = "mandrill"
    display_name: ClassVar[str] = "Mandrill"
    summary: ClassVar[str] = "Mandrill webhook (X-Mandrill-Signature)"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("webhook_key", "Webhook key"),)

    def __init__(self, *, webhook_key: str) -> None:
        self._key = webhook_key

    def verify(self, request: InboundRequest) -> None:
        if not verify(self._key, request.url, request.form(), request.header("X-Mandrill-Signature")):
            raise SignatureRejected("The Mandrill webhook signature did not verify.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        return parse(request.form())


def signature(key: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(key.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify(key: str, url: str, params: Sequence[tuple[str, str]], given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(signature(key, url, params), given or "")


def parse(params: Sequence[tuple[str, str]]) -> list[StatusEvent]:
    raw = dict(params).get("mandrill_events")
    if raw is None:
        raise ValueError("a Mandrill webhook needs mandrill_events")
    items = loads(raw)
    if not isinstance(items, list):
        raise ValueError("mandrill_events must be a JSON array")
    return [_event(item) for item in items if isinstance(item, dict)]


def _event(item: dict[str, Any]) -> StatusEvent:
    name = str(item.get("event", ""))
    msg = _obj(item.get("msg"))
    message_id = str(item.get("_id") or msg.get("_id") or "") or None
    metadata = _obj(msg.get("metadata"))
    ts = item.get("ts", 0)
    return StatusEvent(
        provider="mandrill",
        event_id=f"{message_id}:{name}:{ts}"[:200],
        kind=EVENTS.get(name, EventKind.UNKNOWN),
        occurred_at=_time(ts),
        raw_status=name[:64] or "unknown",
        raw=json.dumps(item, sort_keys=True),
        provider_message_id=message_id,
        delivery_key=str(metadata["receiptdesk_key"]) if metadata.get("receiptdesk_key") else None,
        detail=str(msg.get("bounce_description") or msg.get("diag") or "")[:200] or None,
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime:
    """Epoch seconds as a UTC time; `ValueError` for anything else (a string, NaN, year 10000)."""
    try:
        return datetime.fromtimestamp(float(value or 0), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"ts is not a time: {str(value)[:40]!r}") from None
