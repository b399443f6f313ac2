"""The consent ledger and the opt-outs (Core statements; the caller's unit of work commits).

Grants and revocations are rows of `consents`, never updated; an opt-out is also kept in
`opt_outs` by the contact's digest, so `opted_out` is one primary-key read and survives the
erasure of the customer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.consent import ChannelGroup, ConsentSource, Purpose, contact_digest
from app.domain.delivery import DeliveryState
from app.storage.models import ConsentRow, ContactRow, DeliveryRow, OptOutRow, ReceiptRow, SaleRow


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One line of a customer's consent history."""

    id: int
    customer_id: int
    channel: Channel
    purpose: Purpose
    granted: bool
    contact: str | None
    text_shown: str
    text_version: str | None
    language: str | None
    source: str
    lane: str | None
    staff: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """What a customer agreed to, exactly as shown, and where."""

    customer_id: int
    channel: Channel
    contact: str
    text_shown: str
    source: ConsentSource | str
    purpose: Purpose = Purpose.RECEIPTS
    text_version: str | None = None
    language: str | None = None
    lane: str | None = None
    staff: str | None = None


def record(session: Session, grant: Grant, *, granted: bool, now: datetime) -> None:
    """Append a grant (or, with `granted=False`, a revocation) to the ledger."""
    session.connection().execute(
        insert(ConsentRow),
        {
            "customer_id": grant.customer_id,
            "channel": grant.channel.value,
            "kind": f"{grant.channel.value}_{grant.purpose.value}",
            "granted": granted,
            "text_shown": grant.text_shown,
            "source": str(grant.source),
            "recorded_at": now,
            "purpose": grant.purpose.value,
            "contact": grant.contact,
            "text_version": grant.text_version,
            "language": grant.language,
            "lane": grant.lane,
            "staff": grant.staff,
        },
    )


def opted_out(session: Session, group: ChannelGroup, contact: str) -> bool:
    """Whether this contact stopped this group of channels (and has not opted back in)."""
    found = session.connection().execute(
        select(OptOutRow.since).where(
            OptOutRow.channel_group == group.value, OptOutRow.contact_digest == contact_digest(contact)
        )
    )
    return found.first() is not None


def opt_out(session: Session, group: ChannelGroup, contact: str, *, via: ConsentSource, now: datetime) -> bool:
    """Record the opt-out; False when the contact had already opted out (nothing changes)."""
    if opted_out(session, group, contact):
        return False
    session.connection().execute(
        insert(OptOutRow),
        {"channel_group": group.value, "contact_digest": contact_digest(contact), "since": now, "via": via.value},
    )
    return True


def opt_in(session: Session, group: ChannelGroup, contact: str) -> bool:
    """Lift the opt-out; False when there was none."""
    result = session.connection().execute(
        delete(OptOutRow).where(
            OptOutRow.channel_group == group.value, OptOutRow.contact_digest == contact_digest(contact)
        )
    )
    return bool(result.rowcount)


def covers(
    session: Session,
    channel: Channel,
    contact: str,
    *,
    purpose: Purpose = Purpose.RECEIPTS,
    customer_id: int | None = None,
) -> bool:
    """Whether the newest ledger row for `contact` on `channel` and `purpose` is a grant.

    Rows older than the ledger name no contact: when no row names this one, the newest of those of
    the contact's owner (or `customer_id`) decides. An opt-out is not read here (`opted_out`).
    """
    return latest(session, channel, contact, purpose=purpose, customer_id=customer_id) is True


def latest(
    session: Session,
    channel: Channel,
    contact: str,
    *,
    purpose: Purpose = Purpose.RECEIPTS,
    customer_id: int | None = None,
) -> bool | None:
    """The newest answer for `contact` on `channel` and `purpose`: True a grant, False a revocation, None none.

    See `covers` for the rows that name no contact.
    """
    connection = session.connection()
    key = {"channel": channel.value, "purpose": purpose.value}
    found = connection.execute(_LATEST.where(ConsentRow.contact == contact), key).first()
    if found is not None:
        return bool(found.granted)
    owner = customer_id if customer_id is not None else _owner(session, contact)
    if owner is None:
        return None
    found = connection.execute(
        _LATEST.where(ConsentRow.customer_id == owner, ConsentRow.contact.is_(None)), key
    ).first()
    return None if found is None else bool(found.granted)


@dataclass(frozen=True, slots=True)
class Where:
    """Where a receipt's sale happened, as a grant given for it records: the lane, the cashier, the order."""

    lane: str | None
    cashier: str | None
    order_id: str | None


def where_of_receipt(session: Session, receipt_id: str) -> Where:
    """The lane, cashier and order of the sale `receipt_id` was rendered for (all None for no such receipt)."""
    found = (
        session.connection()
        .execute(
            select(SaleRow.lane, SaleRow.cashier, SaleRow.order_id)
            .join(ReceiptRow, ReceiptRow.sale_pk == SaleRow.id)
            .where(ReceiptRow.id == receipt_id)
        )
        .first()
    )
    return Where(None, None, None) if found is None else Where(found.lane, found.cashier, found.order_id)


_LATEST = (
    select(ConsentRow.granted)
    .where(ConsentRow.channel == bindparam("channel"), ConsentRow.purpose == bindparam("purpose"))
    .order_by(ConsentRow.recorded_at.desc(), ConsentRow.id.desc())
    .limit(1)
)


def _owner(session: Session, contact: str) -> int | None:
    kind = "email" if "@" in contact else "phone"
    found = session.connection().execute(
        select(ContactRow.customer_id).where(ContactRow.kind == kind, ContactRow.value == contact)
    )
    return found.scalar()


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A delivery an opt-out stopped before it left."""

    delivery_id: str
    receipt_id: str | None
    channel: Channel
    provider: str


CANCELLABLE = (DeliveryState.QUEUED.value, DeliveryState.HELD.value)
"""Deliveries that have not left: queued (due now, or waiting for a retry) and held for a manager."""

ORDER_UPDATE_KIND = "order_update"
"""The `metadata.kind` of an order update's delivery (`app.services.lifecycle`)."""


def cancel_pending(
    session: Session,
    contact: str,
    channels: Sequence[Channel],
    purpose: Purpose | None,
    *,
    now: datetime,
    reason: str,
) -> tuple[Cancelled, ...]:
    """Turn `dead`, with `reason`, every delivery to `contact` on `channels` (for `purpose`, or any) that has
    not left yet; return them."""
    d = DeliveryRow.__table__.c
    rows = session.connection().execute(
        select(d.id, d.receipt_id, d.channel, d.provider, d.context).where(
            d.recipient == contact,  # ix_deliveries_recipient_created
            d.channel.in_([c.value for c in channels]),
            d.state.in_(CANCELLABLE),
        )
    )
    chosen = [r for r in rows if purpose is None or purpose_of(r.context) is purpose]
    if not chosen:
        return ()
    session.connection().execute(
        update(DeliveryRow)
        .where(d.id.in_([r.id for r in chosen]), d.state.in_(CANCELLABLE))
        .values(state=DeliveryState.DEAD.value, reason=reason, lease_owner=None, updated_at=now)
    )
    return tuple(Cancelled(r.id, r.receipt_id, Channel(r.channel), r.provider) for r in chosen)


def purpose_of(context: str | None) -> Purpose:
    """What a delivery is for: an order update says so in its metadata; everything else is a receipt."""
    if context:
        metadata = json.loads(context).get("metadata") or {}
        if metadata.get("kind") == ORDER_UPDATE_KIND:
            return Purpose.ORDER_UPDATES
    return Purpose.RECEIPTS


def history(session: Session, customer_id: int) -> list[ConsentRecord]:
    """Every grant and revocation of a customer, oldest first."""
    rows = session.connection().execute(
        select(ConsentRow).where(ConsentRow.customer_id == customer_id).order_by(ConsentRow.recorded_at, ConsentRow.id)
    )
    return [
        ConsentRecord(
            id=r.id,
            customer_id=r.customer_id,
            channel=Channel(r.channel),
            purpose=Purpose(r.purpose),
            granted=bool(r.granted),
            contact=r.contact,
            text_shown=r.text_shown,
            text_version=r.text_version,
            language=r.language,
            source=r.source,
            lane=r.lane,
            staff=r.staff,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]
