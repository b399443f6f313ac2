"""Postmark webhooks: unsigned, so protected by Basic credentials in the configured URL.

Postmark "Webhooks overview": no signature header exists; the URL carries user:password and arrives
as an Authorization: Basic header, which is compared here in constant time. No time is signed, so
there is no replay window: a replay is recognised by its record id. The body is read with the bounded
loader once the credentials hold.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField
from app.domain.tracking import EventKind, StatusEvent
from app.providers.callbacks import StatusCallbacks
from app.support.json_limits import loads

RECORDS: dict[str, EventKind] = {
    "Delivery": EventKind.DELIVERED,
    "Bounce": EventKind.BOUNCED,
    "SpamComplaint": EventKind.SPAM_REPORT,
    "Open": EventKind.OPENED,
    "Click": EventKind.CLICKED,
    "SubscriptionChange": EventKind.UNSUBSCRIBED,
}
TIME_FIELDS = ("DeliveredAt", "BouncedAt", "ReceivedAt", "ChangedAt")


class PostmarkCallbacks(StatusCallbacks):
    """Postmark webhooks: the Basic credentials written into the webhook URL configured at Postmark."""

    provider_id: ClassVar[str] = "postmark"
    display_name: ClassVar[str] = "Postmark"
    summary: ClassVar[str] = "Postmark webhook (Basic credentials)"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("webhook_username", "Webhook user name"),
        SecretField("webhook_password", "Webhook password"),
    )

    def __init__(self, *, webhook_username: str, webhook_password: str) -> None:
        self._username = webhook_username
        self._password = webhook_password

    def verify(self, request: InboundRequest) -> None:
        if not verify(self._username, self._password, request.header("Authorization")):
            raise SignatureRejected("The Postmark webhook credentials did not match.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        data = loads(request.body)
        return [parse(data if isinstance(data, dict) else {})]


def verify(username: str, password: str, authorization: str | None) -> bool:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, f"{username}:{password}".encode())


def parse(body: dict[str, Any]) -> StatusEvent:
    record = str(body.get("RecordType", ""))
    message_id = str(body.get("MessageID", "")) or None
    if not record or not message_id:
        raise ValueError("a Postmark webhook needs RecordType and MessageID")
    kind = RECORDS.get(record, EventKind.UNKNOWN)
    if record == "Bounce" and body.get("Type") in ("Transient", "SoftBounce", "DnsError"):
        kind = EventKind.DEFERRED  # Postmark keeps trying these
    when = next((body[f] for f in TIME_FIELDS if body.get(f)), None)
    try:
        occurred = datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else datetime.now(UTC)
    except ValueError:
        occurred = datetime.now(UTC)
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    metadata = body.get("Metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return StatusEvent(
        provider="postmark",
        event_id=f"{record}:{message_id}:{body.get('ID') or when}"[:200],
        kind=kind,
        occurred_at=occurred,
        raw_status=(str(body.get("Type") or record))[:64],
        raw=json.dumps(body, sort_keys=True),
        provider_message_id=message_id,
        delivery_key=str(metadata["receiptdesk_key"]) if metadata.get("receiptdesk_key") else None,
        detail=str(body.get("Description") or body.get("Details") or "")[:200] or None,
    )
