"""WhatsApp's customer-service window: free-form (session) messages only within 24 hours of the
customer's last message to the business; outside it only an approved template.

Meta's rule (developers.facebook.com/docs/whatsapp/pricing#customer-service-windows), enforced by
Twilio as error 63016 (twilio.com/docs/api/errors/63016).
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
SESSION_UNTIL = "whatsapp_session_until"
"""The delivery metadata key holding when the window known at queue time closes (ISO 8601, UTC)."""


def session_until(last_inbound: datetime | None, now: datetime) -> datetime | None:
    """When the window opened by `last_inbound` closes, or None when it is not open at `now`."""
    if last_inbound is None:
        return None
    until = last_inbound + WINDOW
    return until if until > now else None


def session_open(metadata: dict[str, str], now: datetime) -> bool:
    """Whether a delivery queued with `metadata` may still go as a free-form message at `now`."""
    raw = metadata.get(SESSION_UNTIL)
    if not raw:
        return False
    try:
        until = datetime.fromisoformat(raw)
    except ValueError:
        return False
    return until.tzinfo is not None and now < until
