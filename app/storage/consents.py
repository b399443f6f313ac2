"""The consent ledger and the opt-outs (Core statements; the caller's unit of work commits).

Grants and revocations are rows of `consents`, never updated; an opt-out is also kept in
`opt_outs` by the contact's digest, so `opted_out` is one primary-key read and survives the
erasure of the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.consent import ChannelGroup, ConsentSource, Purpose, contact_digest
from app.storage.models import ConsentRow, OptOutRow


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
