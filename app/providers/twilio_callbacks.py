"""Twilio status callbacks: the X-Twilio-Signature check and the status vocabulary.

Signature (twilio-python `request_validator.py`; Twilio webhooks-security docs): base64 HMAC-SHA1,
key = Auth Token, over the full URL Twilio called followed by every POST parameter sorted by name,
each as name+value. Twilio is inconsistent about default ports, so the URL is tried with and without.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField
from app.domain.tracking import EventKind, StatusEvent
from app.providers.callbacks import StatusCallbacks

STATUS_EVENTS: dict[str, EventKind] = {
    "accepted": EventKind.ACCEPTED,
    "scheduled": EventKind.ACCEPTED,
    "queued": EventKind.ACCEPTED,
    "sending": EventKind.ACCEPTED,
    "sent": EventKind.ACCEPTED,
    "delivered": EventKind.DELIVERED,
    "read": EventKind.OPENED,
    "undelivered": EventKind.UNDELIVERED,
    "failed": EventKind.DROPPED,
    "canceled": EventKind.DROPPED,
}


class TwilioCallbacks(StatusCallbacks):
    """Message status callbacks: a form post signed with the account's Auth Token over URL and fields."""

    provider_id: ClassVar[str] = "twilio"
    display_name: ClassVar[str] = "Twilio"
    summary: ClassVar[str] = "Twilio message status callback (X-Twilio-Signature)"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("auth_token", "Auth token"),)
    paths: ClassVar[tuple[str, ...]] = ("/webhooks/twilio/status",)  # the path the README documents

    def __init__(self, *, auth_token: str) -> None:
        self._auth_token = auth_token

    def verify(self, request: InboundRequest) -> None:
        if not verify_signature(self._auth_token, request.url, request.form(), request.header("X-Twilio-Signature")):
            raise SignatureRejected("The Twilio callback signature did not verify.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        return [parse_status(request.form(), received_at=request.received_at)]


def compute_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params, key=lambda p: (p[0], p[1])))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is not None:
        without = parts._replace(netloc=parts.hostname or "")
        return [url, urlunsplit(without)] if parts.port == default else [url]
    with_port = parts._replace(netloc=f"{parts.hostname}:{default}") if default else parts
    return [url, urlunsplit(with_port)]


def verify_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]], signature: str | None) -> bool:
    """Constant-time check of `signature` against the URL with and without its default port."""
    if not signature:
        return False
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, params), signature)
        for candidate in _port_variants(url)
    )


def parse_status(params: Sequence[tuple[str, str]], *, received_at: datetime) -> StatusEvent:
    """One status callback as an event; dedupe key is (MessageSid, MessageStatus): Twilio sends no event id."""
    form = dict(params)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    error = form.get("ErrorCode")
    if not sid or not status:
        raise ValueError("a Twilio status callback needs MessageSid and MessageStatus")
    return StatusEvent(
        provider="twilio",
        event_id=f"{sid}:{status}",
        kind=STATUS_EVENTS.get(status, EventKind.UNKNOWN),
        occurred_at=received_at,
        raw_status=status,
        raw=json.dumps(form, sort_keys=True),
        provider_message_id=sid,
        detail=f"Twilio error {error}" if error else None,
    )
