"""Revoking and restoring consent: an opt-out beats every grant, and stops what is already queued.

`revoke` and `restore` run inside the caller's unit of work (the inbound-text webhook, the email
unsubscribe link, the manager's screen) and never commit. A revocation:

- writes the opt-out by the contact's digest (`app.storage.consents.opt_out`), which every later
  queueing reads by primary key, across restarts;
- appends a revocation to the ledger for each channel of the group (and each purpose, or the one
  named) of the customer who owns the contact, when one does;
- cancels every delivery of the group's channels to that contact that has not left yet: `queued`
  (due now, or waiting for its next retry) and `held` (an attempt in doubt waiting for a manager,
  whose "send again" would reach someone who said stop). They go `dead` with the reason
  `OPTED_OUT`. A delivery `sending` at that moment is in a provider's hands already and is not
  touched; should it come back for a retry, the outbox's claim finds the opt-out then (it reads
  opt-outs only for retries, so a first send stays one query);
- appends one audit entry, `consent.revoked`, with the contact masked.

A revocation for one purpose only (`purpose=Purpose.ORDER_UPDATES`: "no more order updates, receipts
are fine") writes the ledger rows and cancels that purpose's deliveries, but no opt-out: the gate
reads the ledger for that purpose. The caller publishes what changed after its commit (`announce`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.consent import OPTED_OUT, ChannelGroup, ConsentSource, Purpose
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState
from app.services.bus import DeliveryChanged, EventBus
from app.storage import audit, consents, customers
from app.storage.consents import Cancelled, ConsentRecord, Grant
from app.storage.database import Database, UnitOfWork

CHANNELS: dict[ChannelGroup, tuple[Channel, ...]] = {
    ChannelGroup.TEXT: (Channel.SMS, Channel.WHATSAPP),
    ChannelGroup.EMAIL: (Channel.EMAIL,),
}
"""The channels each opt-out group stops."""

_HOW = {
    ConsentSource.STOP_REPLY: "The customer replied STOP to a text.",
    ConsentSource.START_REPLY: "The customer replied START to a text.",
    ConsentSource.EMAIL_LINK: "The customer used the unsubscribe link of an email.",
    ConsentSource.EMAIL_REPLY: "The customer wrote to the unsubscribe address of an email.",
    ConsentSource.CASHIER: "The customer asked the cashier.",
    ConsentSource.MANAGER: "The customer asked a manager.",
    ConsentSource.CUSTOMER_SCREEN: "The customer chose it on the customer screen.",
    ConsentSource.STAFF: "The customer asked the store's staff.",
}


@dataclass(frozen=True, slots=True)
class Revocation:
    """What one revocation did: whether it newly took effect, and the deliveries it cancelled."""

    newly: bool
    cancelled: tuple[Cancelled, ...] = ()


def revoke(
    session: UnitOfWork,
    contact: str,
    group: ChannelGroup,
    *,
    via: ConsentSource,
    actor: str,
    now: datetime,
    purpose: Purpose | None = None,
) -> bool:
    """Stop `group` to `contact` (all purposes, or only `purpose`); True when it was not stopped already.

    `contact` is normalised (E.164, or the address lower-cased). See `revoke_and_cancel` to learn
    which deliveries it cancelled (to `announce` them after the commit).
    """
    return revoke_and_cancel(session, contact, group, via=via, actor=actor, now=now, purpose=purpose).newly


def revoke_and_cancel(
    session: UnitOfWork,
    contact: str,
    group: ChannelGroup,
    *,
    via: ConsentSource,
    actor: str,
    now: datetime,
    purpose: Purpose | None = None,
) -> Revocation:
    """`revoke`, returning the deliveries it cancelled too (a repeat cancels what was queued since)."""
    if purpose is None:
        newly = consents.opt_out(session, group, contact, via=via, now=now)
    else:
        newly = not consents.opted_out(session, group, contact) and any(
            consents.latest(session, channel, contact, purpose=purpose) is not False for channel in CHANNELS[group]
        )
    owner = _owner(session, contact, group)
    if owner is not None and newly:
        for channel in CHANNELS[group]:
            for each in (purpose,) if purpose is not None else tuple(Purpose):
                grant = Grant(
                    owner, channel, contact, _HOW.get(via, str(via)), via, purpose=each, staff=_staff(via, actor)
                )
                consents.record(session, grant, granted=False, now=now)
    cancelled = consents.cancel_pending(session, contact, CHANNELS[group], purpose, now=now, reason=OPTED_OUT)
    detail: dict[str, Any] = {
        "contact": mask_contact(contact),
        "group": group.value,
        "via": via.value,
        "newly": newly,
        "cancelled": [c.delivery_id for c in cancelled][:50],
    }
    if purpose is not None:
        detail["purpose"] = purpose.value
    if owner is not None:
        detail["customer_id"] = owner
    audit.append(session, at=now, actor=actor, action="consent.revoked", subject=_subject(owner, group), detail=detail)
    return Revocation(newly, cancelled)


def restore(
    session: UnitOfWork,
    contact: str,
    group: ChannelGroup,
    *,
    via: ConsentSource,
    actor: str,
    now: datetime,
    text_shown: str,
    purpose: Purpose = Purpose.RECEIPTS,
    language: str | None = None,
    text_version: str | None = None,
    lane: str | None = None,
) -> bool:
    """Lift the opt-out of `group` to `contact` (a START, a new grant in person) and record the grant.

    True when an opt-out was lifted. The grant (of `purpose`, on each channel of the group) goes to the
    ledger of the customer who owns the contact; a contact nobody owns gets its customer created, so
    the grant is kept (a text-in or a START from a number the store never texted). Audited as
    `consent.restored`, the contact masked.
    """
    lifted = consents.opt_in(session, group, contact)
    owner = _owner(session, contact, group)
    if owner is None:
        email, phone = (contact, None) if group is ChannelGroup.EMAIL else (None, contact)
        owner = customers.upsert(session, now=now, name=None, loyalty_id=None, language=None, email=email, phone=phone)
    for channel in CHANNELS[group]:
        grant = Grant(
            owner,
            channel,
            contact,
            text_shown,
            via,
            purpose=purpose,
            text_version=text_version,
            language=language,
            lane=lane,
            staff=_staff(via, actor),
        )
        consents.record(session, grant, granted=True, now=now)
    detail = {
        "contact": mask_contact(contact),
        "group": group.value,
        "via": via.value,
        "lifted": lifted,
        "customer_id": owner,
        "purpose": purpose.value,
    }
    audit.append(session, at=now, actor=actor, action="consent.restored", subject=_subject(owner, group), detail=detail)
    return lifted


def lift(
    session: UnitOfWork,
    contact: str,
    group: ChannelGroup,
    *,
    via: ConsentSource | str,
    actor: str,
    now: datetime,
    customer_id: int | None = None,
) -> bool:
    """Lift the opt-out because the customer, in person, agreed again (the grant itself is the caller's).

    True when there was an opt-out; then `consent.restored` is audited (the contact masked).
    """
    if not consents.opt_in(session, group, contact):
        return False
    detail: dict[str, Any] = {"contact": mask_contact(contact), "group": group.value, "via": str(via), "lifted": True}
    if customer_id is not None:
        detail["customer_id"] = customer_id
    subject = _subject(customer_id, group)
    audit.append(session, at=now, actor=actor, action="consent.restored", subject=subject, detail=detail)
    return True


def announce(bus: EventBus, revocation: Revocation) -> None:
    """Tell the faces about the deliveries a revocation cancelled (call after the commit)."""
    for c in revocation.cancelled:
        bus.publish(
            DeliveryChanged(c.delivery_id, c.receipt_id or "", c.channel, c.provider, DeliveryState.DEAD, OPTED_OUT)
        )


class ConsentService:
    """The faces' door to the ledger: revoke, restore, and a customer's history for the manager."""

    def __init__(self, db: Database, bus: EventBus, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock

    async def revoke(
        self,
        contact: str,
        group: ChannelGroup,
        *,
        via: ConsentSource,
        actor: str,
        purpose: Purpose | None = None,
    ) -> bool:
        """Stop `group` to `contact` at once, cancelling what is queued; True when newly stopped."""
        now = self._clock()
        revocation = await self._db.write(
            lambda s: revoke_and_cancel(s, contact, group, via=via, actor=actor, now=now, purpose=purpose)
        )
        announce(self._bus, revocation)
        return revocation.newly

    async def restore(
        self, contact: str, group: ChannelGroup, *, via: ConsentSource, actor: str, text_shown: str
    ) -> bool:
        """Lift the opt-out and record the grant with the words the customer agreed to."""
        now = self._clock()
        return await self._db.write(
            lambda s: restore(s, contact, group, via=via, actor=actor, now=now, text_shown=text_shown)
        )

    async def history(self, customer_id: int) -> list[ConsentRecord]:
        """Every grant and revocation of the customer, oldest first."""
        return await self._db.read(lambda s: consents.history(s, customer_id))

    async def opted_out(self, contact: str, group: ChannelGroup) -> bool:
        """Whether `contact` stopped `group`."""
        return await self._db.read(lambda s: consents.opted_out(s, group, contact))


def _owner(session: UnitOfWork, contact: str, group: ChannelGroup) -> int | None:
    if group is ChannelGroup.EMAIL:
        return customers.find(session, loyalty_id=None, email=contact, phone=None)
    return customers.find(session, loyalty_id=None, email=None, phone=contact)


def _staff(via: ConsentSource, actor: str) -> str | None:
    """The staff member named beside a consent they took (a cashier, a manager), else nobody."""
    return actor if via in (ConsentSource.CASHIER, ConsentSource.MANAGER, ConsentSource.STAFF) else None


def _subject(owner: int | None, group: ChannelGroup) -> str:
    return f"customer:{owner}:{group.value}" if owner is not None else f"opt_out:{group.value}"
