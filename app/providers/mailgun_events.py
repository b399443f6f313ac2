"""Mailgun webhooks: the signature inside the body, and the event vocabulary.

Mailgun "Securing webhooks" and mailgun-python `security.py`: hex HMAC-SHA256 with the HTTP webhook
signing key (not the API key) over timestamp + token; stale timestamps are refused (300 s either way,
the SDK's `max_age_seconds`; docs/providers.md § B8,
https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).

Mailgun signs inside the body, so the body is parsed before anything is verified: by the bounded
loader (`app.support.json_limits`), and a body it refuses is simply not signed (401).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import UTC, datetime
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField
from app.domain.tracking import EventKind, StatusEvent
from app.providers.callbacks import StatusCallbacks
from app.support.json_limits import JsonRejected, loads

MAX_AGE_S = 300

EVENTS: dict[str, EventKind] = {
    "accepted": EventKind.ACCEPTED,
    "delivered": EventKind.DELIVERED,
    "opened": EventKind.OPENED,
    "clicked": EventKind.CLICKED,
    "complained": EventKind.SPAM_REPORT,
    "unsubscribed": EventKind.UNSUBSCRIBED,
}


class MailgunCallbacks(StatusCallbacks):
    """Mailgun webhooks: JSON whose own `signature` block is checked with the webhook signing key."""

    provider_id: ClassVar[str] = "mailgun"
    display_name: ClassVar[str] = "Mailgun"
    summary: ClassVar[str] = "Mailgun webhook (signature in the body)"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("webhook_signing_key", "HTTP webhook signing key"),)

    def __init__(self, *, webhook_signing_key: str) -> None:
        self._signing_key = webhook_signing_key

    def verify(self, request: InboundRequest) -> None:
        body = _json(request.body)
        if body is None or not verify(self._signing_key, body, now=request.received_at.timestamp()):
            raise SignatureRejected("The Mailgun webhook signature did not verify.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        body = _json(request.body)
        if body is None:
            raise ValueError("a Mailgun webhook is a JSON object")
        try:
            return [parse(body)]
        except TypeError as exc:  # a field of the wrong type inside event-data
            raise ValueError(str(exc)) from None


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = loads(raw)
    except JsonRejected:
        return None
    return data if isinstance(data, dict) else None


def verify(signing_key: str, body: dict[str, Any], *, now: float) -> bool:
    """Check the body's own `signature` block: HMAC, and a timestamp within five minutes."""
    block = body.get("signature")
    if not isinstance(block, dict):
        return False
    timestamp, token, signature = (str(block.get(k, "")) for k in ("timestamp", "token", "signature"))
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if not math.isfinite(sent) or abs(now - sent) > MAX_AGE_S:  # NaN would pass any comparison
        return False
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def parse(body: dict[str, Any]) -> StatusEvent:
    """The event of a verified body; raises `ValueError` for a body Mailgun would not send."""
    data = body.get("event-data")
    if not isinstance(data, dict):
        raise ValueError("a Mailgun webhook needs event-data")
    name = str(data.get("event", ""))
    kind = EVENTS.get(name, EventKind.UNKNOWN)
    if name == "failed":  # permanent failures are bounces; temporary ones are still being retried
        kind = EventKind.BOUNCED if data.get("severity") == "permanent" else EventKind.DEFERRED
    headers = _obj(_obj(data.get("message")).get("headers"))
    message_id = str(headers.get("message-id", "")).strip("<>") or None
    variables = _obj(data.get("user-variables"))
    status = _obj(data.get("delivery-status")).get("description") or data.get("reason")
    return StatusEvent(
        provider="mailgun",
        event_id=str(data.get("id") or f"{message_id}:{name}:{data.get('timestamp')}")[:200],
        kind=kind,
        occurred_at=_time(data.get("timestamp", 0)),
        raw_status=name[:64] or "unknown",
        raw=json.dumps(data, sort_keys=True),
        provider_message_id=message_id,
        delivery_key=str(variables["receiptdesk_key"]) if variables.get("receiptdesk_key") else None,
        detail=str(status)[:200] if status else None,
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime:
    """Epoch seconds as a UTC time; `ValueError` for anything else (a string, NaN, year 10000)."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"event-data.timestamp is not a time: {str(value)[:40]!r}") from None
