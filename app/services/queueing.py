"""Queueing a receipt: the one place its deliveries, the text consents and the audit entry are written.

Checkout (a sale the register or a platform sent) and the kiosk (what the customer chose at the
till) both end here, inside their own unit of work:

- one outbox delivery per `Send`, due now, in the order given;
- the send gate (`app.services.consent`): nothing to a contact that opted out of the channel's group
  (one primary-key read); a text (SMS, WhatsApp) only on a grant that covers the number, the
  channel and receipts: the one the caller brings (`SmsConsent`, written to the ledger beside the
  delivery, in the same transaction), else the newest in the ledger. A grant the customer gives
  in person (`SmsConsent.in_person`: they read the words and agreed just now) lifts their earlier
  opt-out; the register's standard wording does not. An email needs no grant beyond the customer
  asking; when the caller brings one (`SmsConsent.email_text`), it is written to the ledger too.
  Where the sale is an order that can get updates (`SmsConsent.order_updates`), each grant is
  written for order updates as well: they are messages about the purchase the customer asked the
  receipt for, on the channel they chose for it;
- for every WhatsApp message, when the number's 24-hour window (its last inbound message) closes,
  in the delivery's metadata: the window is decided here, at queue time, because only here is the
  database at hand; the send compares that time with its own clock (`app.domain.whatsapp`), so a
  retry after the window closed goes as a template, and a message the customer sends later is not
  waited for (a receipt goes within seconds of the sale);
- a push receipt to every app device of the customer (`push_recipients`), one delivery each;
- one audit entry saying who asked for what (`AuditNote`), written after the deliveries so it can
  name them;
- nothing the gate refuses, and no text (SMS, WhatsApp) that the text limits refuse
  (`app.services.text_limits`): a country not allowed, a number texted too often. The caller
  either takes the refusal as a warning (`warn`: checkout queues the rest and says why one was
  left out) or as an error (the kiosk: `TextRefused` or `ConsentRefused`, and nothing of this
  queueing is written).

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
from app.domain.consent import (
    NO_TEXT_GRANT,
    OPTED_OUT_SENTENCE,
    ConsentRefused,
    ConsentSource,
    Purpose,
    group_of,
    wording_version,
)
from app.domain.contacts import mask_contact
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits, TextRefused, is_text
from app.domain.whatsapp import SESSION_UNTIL, session_until
from app.services import consent as consent_gate
from app.services.text_limits import check_text
from app.storage import app_devices, audit, consents, customers, outbox, whatsapp_windows
from app.storage.database import UnitOfWork

log = logging.getLogger(__name__)

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
    """A customer's grants for this receipt: the words they agreed to, where, and how it came.

    `text` is the text-message wording (None: no text was agreed to here), `whatsapp_text` the
    WhatsApp one when it differs, `email_text` what asking for an email receipt meant (None: no
    email grant is recorded). `source` is a `ConsentSource` (or the caller's own word), `lane`
    and `staff` where and by whom, `language` the wording's. `in_person`: the customer read the
    words and agreed just now, which lifts an earlier opt-out. `order_updates`: the sale is an
    order that can get updates, and the grants cover them too.
    """

    customer_id: int
    text: str | None
    source: ConsentSource | str
    whatsapp_text: str | None = None
    email_text: str | None = None
    language: str | None = None
    lane: str | None = None
    staff: str | None = None
    in_person: bool = False
    order_updates: bool = False

    def text_for(self, channel: Channel) -> str | None:
        """The words agreed to for `channel`, or None when none were."""
        if channel is Channel.WHATSAPP:
            return self.whatsapp_text or self.text
        if channel is Channel.SMS:
            return self.text
        if channel is Channel.EMAIL:
            return self.email_text
        return None

    def grants(self, channel: Channel, contact: str) -> tuple[consents.Grant, ...]:
        """The ledger rows this consent writes for a delivery on `channel` to `contact`."""
        text = self.text_for(channel)
        if text is None or not text.strip():
            return ()
        purposes = (Purpose.RECEIPTS, Purpose.ORDER_UPDATES) if self.order_updates else (Purpose.RECEIPTS,)
        return tuple(
            consents.Grant(
                self.customer_id,
                channel,
                contact,
                text,
                self.source,
                purpose=purpose,
                text_version=wording_version(text),
                language=self.language,
                lane=self.lane,
                staff=self.staff,
            )
            for purpose in purposes
        )


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
    """Queue one delivery of `receipt_id` per send, record `consent`'s grants beside each, and audit it all.

    A send the gate refuses (an opt-out, a text no grant covers) or a text the `limits` refuse is not
    queued: with `warn`, its sentence goes to `warn` (and to the audit entry) and the other sends go
    ahead; without, `ConsentRefused` or `TextRefused` is raised. Runs inside the
    caller's unit of work and never commits: the deliveries, the consent and the audit entry land
    together with the caller's own writes, or not at all.
    """
    queued: list[outbox.NewDelivery] = []
    refused: list[str] = []
    blocked: list[str] = []
    for send in sends:
        gate = _gate(session, send, consent, actor=note.actor, now=now)
        refusal = gate or check_text(session, send.channel, send.recipient, limits, now=now).refusal
        if refusal is not None:
            log.warning(
                "%s receipt %s to %s not queued: %s",
                send.channel.value,
                receipt_id,
                mask_contact(send.recipient),
                refusal,
            )
            if warn is None:
                raise ConsentRefused(refusal) if gate is not None else TextRefused(refusal)
            warn(refusal)
            (blocked if gate is not None else refused).append(refusal)
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
        if consent is not None:
            for grant in consent.grants(send.channel, send.recipient):
                consents.record(session, grant, granted=True, now=now)
    detail = note.detail(queued)
    if refused:
        detail = {**detail, "texts_refused": refused}
    if blocked:
        detail = {**detail, "consent_refused": blocked}
    audit.append(session, at=now, actor=note.actor, action=note.action, subject=receipt_id, detail=detail)
    return tuple(queued)


def _gate(session: UnitOfWork, send: Send, consent: SmsConsent | None, *, actor: str, now: datetime) -> str | None:
    """Why the gate refuses `send` (one sentence), or None: an opt-out, or a text no grant covers."""
    group = group_of(send.channel)
    if group is None:
        return None
    agreed = consent.text_for(send.channel) if consent is not None else None
    if consents.opted_out(session, group, send.recipient):
        if not (agreed and consent is not None and consent.in_person):
            return OPTED_OUT_SENTENCE[group]
        consent_gate.lift(
            session, send.recipient, group, via=consent.source, actor=actor, now=now, customer_id=consent.customer_id
        )
    if is_text(send.channel) and not agreed:
        customer_id = consent.customer_id if consent is not None else None
        if not consents.covers(session, send.channel, send.recipient, customer_id=customer_id):
            return NO_TEXT_GRANT
    return None


def _window(session: UnitOfWork, send: Send, now: datetime) -> dict[str, Any] | None:
    """A WhatsApp delivery's context: when the number's 24-hour window closes, if it is open now."""
    if send.channel is not Channel.WHATSAPP:
        return None
    until = session_until(whatsapp_windows.last_inbound(session, send.recipient), now)
    return {"metadata": {SESSION_UNTIL: until.isoformat()}} if until is not None else None
