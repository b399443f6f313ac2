"""Queueing a receipt: the one place its deliveries, the text consents and the audit entry are written.

Checkout (a sale the register or a platform sent) and the kiosk (what the customer chose at the
till) both end here, inside their own unit of work:

- one outbox delivery per `Send`, due now, in the order given;
- for every SMS or WhatsApp message queued, the customer's consent beside it (`SmsConsent`, of the
  channel's own kind), when the caller has one: nothing is texted on a consent that was not
  recorded in the same transaction;
- for every WhatsApp message, when the number's 24-hour window (its last inbound message) closes,
  in the delivery's metadata: the window is decided here, at queue time, because only here is the
  database at hand; the send compares that time with its own clock (`app.domain.whatsapp`), so a
  retry after the window closed goes as a template, and a message the customer sends later is not
  waited for (a receipt goes within seconds of the sale);
- a push receipt to every app device of the customer (`push_recipients`), one delivery each;
- one audit entry saying who asked for what (`AuditNote`), written after the deliveries so it can
  name them;
- no text (SMS, WhatsApp) that the text limits refuse (`app.services.text_limits`): a country not
  allowed, a number texted too often. The caller either takes the refusal as a warning (`warn`:
  checkout queues the rest and says why one was left out) or as an error (the kiosk: `TextRefused`,
  and nothing of this queueing is written).

Which channels to send, where each goes (`recipient_for`) and what a missing contact or provider
means (a warning at checkout, a refusal at the till) stay with the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.channels import Channel
from app.domain.contacts import mask_contact
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits, TextRefused
from app.domain.whatsapp import SESSION_UNTIL, session_until
from app.services.text_limits import check_text
from app.storage import app_devices, audit, customers, outbox, whatsapp_windows
from app.storage.database import UnitOfWork

log = logging.getLogger(__name__)

SMS_CONSENT_KIND = "transactional_sms"
"""The consent kind a receipt by text message needs."""
WHATSAPP_CONSENT_KIND = "transactional_whatsapp"
"""The consent kind a receipt on WhatsApp needs."""
CONSENT_KIND = {Channel.SMS: SMS_CONSENT_KIND, Channel.WHATSAPP: WHATSAPP_CONSENT_KIND}

CONTACT_KIND = {Channel.EMAIL: "email", Channel.SMS: "phone", Channel.WHATSAPP: "phone", Channel.PUSH: "app device"}
"""The kind of contact each contact channel is sent to."""


@dataclass(frozen=True, slots=True)
class Send:
    """One delivery to queue: its channel, the provider that carries it, and where it goes."""

    channel: Channel
    provider: str
    recipient: str


@dataclass(frozen=True, slots=True)
class SmsConsent:
    """A customer's grant for receipts by text message: the words they agreed to, and how it came.

    `whatsapp_text` is the wording agreed to for WhatsApp, when it differs from the SMS one.
    """

    customer_id: int
    text: str
    source: str
    whatsapp_text: str | None = None

    def text_for(self, channel: Channel) -> str:
        return (self.whatsapp_text or self.text) if channel is Channel.WHATSAPP else self.text


@dataclass(frozen=True, slots=True)
class AuditNote:
    """The audit entry of one queueing: who asked, the action, and its detail given the deliveries queued."""

    actor: str
    action: str
    detail: Callable[[Sequence[outbox.NewDelivery]], dict[str, Any]]


def recipient_for(
    channel: Channel,
    *,
    email: str | None,
    phone: str | None,
    on_file: customers.KnownCustomer | None,
    routing: Mapping[Channel, str],
) -> str | None:
    """Where a delivery on `channel` goes: the contact given, else the customer's newest on file.

    A printed receipt goes to the lane's printer, whose provider name is its recipient. None when
    there is nowhere to send it.
    """
    if channel is Channel.PRINT:
        return routing.get(channel)
    if channel is Channel.EMAIL:
        return email or (on_file.email if on_file is not None else None)
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return phone or (on_file.phone if on_file is not None else None)
    return None


def push_recipients(session: UnitOfWork, on_file: customers.KnownCustomer | None) -> tuple[str, ...]:
    """The push tokens of every app device the customer registered, oldest first (none for no customer)."""
    if on_file is None:
        return ()
    return tuple(device.token for device in app_devices.of_customer(session, on_file.id))


def queue_receipt(
    session: UnitOfWork,
    receipt_id: str,
    sends: Sequence[Send],
    *,
    consent: SmsConsent | None,
    note: AuditNote,
    now: datetime,
    limits: TextLimits = DEFAULT_LIMITS,
    warn: Callable[[str], None] | None = None,
) -> tuple[outbox.NewDelivery, ...]:
    """Queue one delivery of `receipt_id` per send, record `consent` beside each SMS, and audit it all.

    A text the `limits` refuse is not queued: with `warn`, its sentence goes to `warn` (and to the
    audit entry) and the other sends go ahead; without, `TextRefused` is raised. Runs inside the
    caller's unit of work and never commits: the deliveries, the consent and the audit entry land
    together with the caller's own writes, or not at all.
    """
    queued: list[outbox.NewDelivery] = []
    refused: list[str] = []
    for send in sends:
        refusal = check_text(session, send.channel, send.recipient, limits, now=now).refusal
        if refusal is not None:
            log.warning(
                "%s receipt %s to %s not queued: %s",
                send.channel.value,
                receipt_id,
                mask_contact(send.recipient),
                refusal,
            )
            if warn is None:
                raise TextRefused(refusal)
            warn(refusal)
            refused.append(refusal)
            continue
        queued.append(
            outbox.new_delivery(
                session,
                receipt_id=receipt_id,
                channel=send.channel,
                provider=send.provider,
                recipient=send.recipient,
                now=now,
                context=_window(session, send, now),
            )
        )
        kind = CONSENT_KIND.get(send.channel)
        if kind is not None and consent is not None:
            customers.record_consent(
                session,
                customer_id=consent.customer_id,
                channel=send.channel,
                kind=kind,
                granted=True,
                text=consent.text_for(send.channel),
                source=consent.source,
                now=now,
            )
    detail = note.detail(queued)
    if refused:
        detail = {**detail, "texts_refused": refused}
    audit.append(session, at=now, actor=note.actor, action=note.action, subject=receipt_id, detail=detail)
    return tuple(queued)


def _window(session: UnitOfWork, send: Send, now: datetime) -> dict[str, Any] | None:
    """A WhatsApp delivery's context: when the number's 24-hour window closes, if it is open now."""
    if send.channel is not Channel.WHATSAPP:
        return None
    until = session_until(whatsapp_windows.last_inbound(session, send.recipient), now)
    return {"metadata": {SESSION_UNTIL: until.isoformat()}} if until is not None else None
