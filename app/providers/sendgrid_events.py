"""SendGrid Event Webhook: the signed-event check and the event vocabulary.

Signature (SendGrid "Getting started with the Event Webhook security features"; sendgrid-python
`helpers/eventwebhook`): ECDSA P-256 with SHA-256 over the timestamp header followed by the raw body,
signature base64 DER in X-Twilio-Email-Event-Webhook-Signature, public key base64 DER
SubjectPublicKeyInfo from the Mail Settings page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.plugins import SettingField
from app.domain.tracking import EventKind, StatusEvent
from app.providers.callbacks import StatusCallbacks

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

EVENTS: dict[str, EventKind] = {
    "processed": EventKind.ACCEPTED,
    "deferred": EventKind.DEFERRED,
    "delivered": EventKind.DELIVERED,
    "bounce": EventKind.BOUNCED,
    "blocked": EventKind.BOUNCED,
    "dropped": EventKind.DROPPED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
    "spamreport": EventKind.SPAM_REPORT,
    "unsubscribe": EventKind.UNSUBSCRIBED,
    "group_unsubscribe": EventKind.UNSUBSCRIBED,
}


class SendGridCallbacks(StatusCallbacks):
    """The Event Webhook with signed events on; the verification key is public, so it is a setting."""

    provider_id: ClassVar[str] = "sendgrid"
    display_name: ClassVar[str] = "SendGrid"
    summary: ClassVar[str] = "SendGrid Event Webhook (signed events)"
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("webhook_public_key", "Event Webhook verification key"),
    )
    reply_with_counts: ClassVar[bool] = True

    def __init__(self, *, webhook_public_key: str) -> None:
        self._public_key = webhook_public_key

    def verify(self, request: InboundRequest) -> None:
        signature, timestamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
        if not verify_signature(self._public_key, request.body, signature, timestamp):
            raise SignatureRejected("The SendGrid event signature did not verify.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        return parse_events(request.body)


def verify_signature(public_key_b64: str, payload: bytes, signature_b64: str | None, timestamp: str | None) -> bool:
    """True when `signature_b64` signs timestamp + payload under the account's verification key."""
    if not signature_b64 or not timestamp:
        return False
    try:
        key = load_der_public_key(base64.b64decode(public_key_b64))
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, timestamp.encode("utf-8") + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def parse_events(payload: bytes) -> list[StatusEvent]:
    """The JSON array of events; raises ValueError when it is not one."""
    data = json.loads(payload)
    if not isinstance(data, list):
        raise ValueError("the Event Webhook body must be a JSON array")
    return [_event(item) for item in data if isinstance(item, dict)]


def _event(item: dict[str, Any]) -> StatusEvent:
    name = str(item.get("event", ""))
    message_id = str(item.get("sg_message_id", "")) or None
    event_id = str(item.get("sg_event_id") or f"{message_id}:{name}:{item.get('timestamp')}")
    try:
        occurred = datetime.fromtimestamp(int(item.get("timestamp", 0)), UTC)
    except (TypeError, ValueError, OverflowError):
        occurred = datetime.now(UTC)
    reason = item.get("reason") or item.get("response")
    return StatusEvent(
        provider="sendgrid",
        event_id=event_id[:200],
        kind=EVENTS.get(name, EventKind.UNKNOWN),
        occurred_at=occurred,
        raw_status=name[:64] or "unknown",
        raw=json.dumps(item, sort_keys=True),
        # sg_message_id is the X-Message-Id of the send plus a per-recipient suffix after the first dot
        provider_message_id=message_id.split(".", 1)[0] if message_id else None,
        delivery_key=str(item["receiptdesk_key"]) if item.get("receiptdesk_key") else None,
        detail=str(reason)[:200] if reason else None,
    )
