"""Provider status callbacks: verified as each provider signs them, then handed to tracking."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.clock import Clock, utcnow
from app.domain.errors import SignatureRejected, ValidationFailed
from app.providers import mailgun_events, mandrill_events, postmark_events, sendgrid_events, twilio_callbacks
from app.services.tracking import TrackingResult, TrackingService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackSecrets:
    """What verifying each provider's callbacks needs; None turns that provider's endpoint off."""

    twilio_auth_token: str | None = None
    sendgrid_public_key: str | None = None
    mailgun_signing_key: str | None = None
    postmark_username: str | None = None
    postmark_password: str | None = None
    mandrill_webhook_key: str | None = None


class CallbackService:
    """Checks signatures, parses, and records. Counts rejections for health."""

    def __init__(self, tracking: TrackingService, secrets: CallbackSecrets, *, clock: Clock = utcnow) -> None:
        self._tracking = tracking
        self._secrets = secrets
        self._clock = clock
        self.rejected: Counter[str] = Counter()

    async def twilio_status(self, url: str, params: Sequence[tuple[str, str]], signature: str | None) -> TrackingResult:
        """A Twilio status callback posted to `url` (exactly as Twilio called it)."""
        token = self._secrets.twilio_auth_token
        if token is None or not twilio_callbacks.verify_signature(token, url, params, signature):
            return self._reject("twilio")
        try:
            event = twilio_callbacks.parse_status(params, received_at=self._clock())
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        return await self._tracking.record([event])

    async def sendgrid_events(self, body: bytes, signature: str | None, timestamp: str | None) -> TrackingResult:
        """A batch from the SendGrid Event Webhook (signed events)."""
        key = self._secrets.sendgrid_public_key
        if key is None or not sendgrid_events.verify_signature(key, body, signature, timestamp):
            return self._reject("sendgrid")
        try:
            events = sendgrid_events.parse_events(body)
        except ValueError as exc:
            raise ValidationFailed(f"Not a SendGrid event batch: {exc}") from None
        return await self._tracking.record(events)

    async def mailgun_event(self, body: bytes) -> TrackingResult:
        """A Mailgun webhook (JSON with its signature block inside)."""
        key = self._secrets.mailgun_signing_key
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if key is None or not isinstance(data, dict) or not mailgun_events.verify(key, data, now=time.time()):
            return self._reject("mailgun")
        try:
            event = mailgun_events.parse(data)
        except (ValueError, TypeError) as exc:
            raise ValidationFailed(f"Not a Mailgun event: {exc}") from None
        return await self._tracking.record([event])

    async def postmark_event(self, body: bytes, authorization: str | None) -> TrackingResult:
        """A Postmark webhook (unsigned: Basic credentials from the configured URL)."""
        user, password = self._secrets.postmark_username, self._secrets.postmark_password
        if user is None or password is None or not postmark_events.verify(user, password, authorization):
            return self._reject("postmark")
        try:
            data = json.loads(body)
            event = postmark_events.parse(data if isinstance(data, dict) else {})
        except ValueError as exc:
            raise ValidationFailed(f"Not a Postmark event: {exc}") from None
        return await self._tracking.record([event])

    async def mandrill_events(
        self, url: str, params: Sequence[tuple[str, str]], signature: str | None
    ) -> TrackingResult:
        """A Mandrill webhook batch posted to `url` (exactly as Mandrill called it)."""
        key = self._secrets.mandrill_webhook_key
        if key is None or not mandrill_events.verify(key, url, params, signature):
            return self._reject("mandrill")
        try:
            events = mandrill_events.parse(params)
        except ValueError as exc:
            raise ValidationFailed(f"Not a Mandrill event batch: {exc}") from None
        return await self._tracking.record(events)

    def _reject(self, provider: str) -> TrackingResult:
        self.rejected[provider] += 1
        log.warning("rejected a %s callback with a bad or missing signature", provider)
        raise SignatureRejected(f"The {provider} callback signature did not verify.")
