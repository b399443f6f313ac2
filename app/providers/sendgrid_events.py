"""SendGrid Event Webhook: the signed-event check and the event vocabulary.

Signature (SendGrid "Getting started with the Event Webhook security features"; sendgrid-python
`helpers/eventwebhook`): ECDSA P-256 with SHA-256 over the timestamp header followed by the raw body,
signature base64 DER in X-Twilio-Email-Event-Webhook-Signature, public key base64 DER
SubjectPublicKeyInfo from the Mail Settings page.

Replay window (docs/providers.md § B7): the signed X-Twilio-Email-Event-Webhook-Timestamp (epoch
seconds) must be within `MAX_AGE_S` of when the request arrived, either way. SendGrid documents no
tolerance of its own (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features);
five minutes is Mailgun's and Stripe's, and a batch signed two days ago is a replay, not a retry.
The body is parsed only after the signature and the timestamp are checked.
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
from app.support.json_limits import loads

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE_S = 300
"""How far the signed timestamp may be from the request's arrival, in seconds, past or future."""

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

    def __init__(self, *, webhook_public_key: str, max_age_s: int = MAX_AGE_S) -> None:
        self._public_key = webhook_public_key
        self.max_age_s = max_age_s

    def verify(self, request: InboundRequest) -> None:
        signature, timestamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
        if not verify_signature(self._public_key, request.body, signature, timestamp):
            raise SignatureRejected("The SendGrid event signature did not verify.")
        if not fresh(timestamp or "", received_at=request.received_at, max_age_s=self.max_age_s):
            raise SignatureRejected(f"The SendGrid event timestamp is more than {self.max_age_s} s from now.")

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


def fresh(timestamp: str, *, received_at: datetime, max_age_s: float) -> bool:
    """Whether `timestamp` (epoch seconds, digits only) is within `max_age_s` of `received_at`."""
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return False
    return abs(received_at.timestamp() - int(text)) <= max_age_s


def parse_events(payload: bytes) -> list[StatusEvent]:
    """The JSON array of events; raises ValueError (`JsonRejected` among them) when it is not one."""
    data = loads(payload)
    if not isinstance(data, list):
        raise ValueError("the Event Webhook body must be a JSON array")
    return [_event(item) for item in data if isinstance(item, dict)]


def _event(item: dict[str, Any]) -> StatusEvent:
    name = str(item.get("event", ""))
    message_id = str(item.get("sg_message_id", "")) or None
    event_id = str(item.get("sg_event_id") or f"{message_id}:{name}:{item.get('timestamp')}")
    try:
        occurred = datetime.fromtimestamp(int(item.get("timestamp", 0)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # not a number, or not a time a datetime holds
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
