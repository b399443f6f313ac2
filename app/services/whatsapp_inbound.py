"""Customers' WhatsApp messages to the store: each opens (or extends) that number's 24-hour window.

Twilio posts every incoming WhatsApp message to the sender's "A message comes in" webhook
(twilio.com/docs/messaging/guides/webhook-request), signed with `X-Twilio-Signature` exactly as
its status callbacks are (`app.providers.twilio_callbacks.verify_signature`, key: the
twilio_whatsapp Auth Token). Only the sender (`From`, `whatsapp:+1...`) and the time it arrived
are kept: the message itself is not ReceiptDesk's business and is not stored.
"""

from __future__ import annotations

import logging
from collections import Counter

from app.domain.contacts import mask_phone, normalise_phone
from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.providers.twilio_callbacks import verify_signature
from app.providers.twilio_whatsapp import PREFIX
from app.storage import whatsapp_windows
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

PATH = "/webhooks/twilio_whatsapp/incoming"
SOURCE = "twilio_whatsapp incoming"
"""How the health names refused incoming-message webhooks."""


class WhatsAppInboundService:
    """Verifies Twilio's incoming-message webhook and records when the number last wrote."""

    def __init__(self, db: Database, *, auth_token: str | None) -> None:
        self._db = db
        self._auth_token = auth_token
        self.rejected: Counter[str] = Counter()  # requests refused for their signature, for health

    async def receive(self, request: InboundRequest) -> bool:
        """Record the message's sender; whether its window moved (False for an older or repeated one).

        Raises `SignatureRejected` (not from Twilio, or no Auth Token set) or `ValidationFailed` (no
        WhatsApp sender in a verified body).
        """
        form = request.form()
        signature = request.header("X-Twilio-Signature")
        if not self._auth_token or not verify_signature(self._auth_token, request.url, form, signature):
            self.rejected[SOURCE] += 1
            log.warning("rejected a Twilio incoming WhatsApp message with a bad or missing signature")
            raise SignatureRejected("The Twilio incoming-message signature did not verify.")
        sender = dict(form).get("From", "")
        if not sender.startswith(PREFIX):
            raise ValidationFailed("From must be a WhatsApp address (whatsapp:+1...).", field="From")
        phone = normalise_phone(sender[len(PREFIX) :])

        def job(session: UnitOfWork) -> bool:
            return whatsapp_windows.record_inbound(session, phone, request.received_at)

        moved = await self._db.write(job)
        log.info("WhatsApp message in from %s: its 24-hour window runs from now", mask_phone(phone))
        return moved
