"""The lane's side of the profile changes it pulls from its hub: clocks, progress, opt-outs by digest.

Functions take the caller's session; the caller commits (`app.services.hub_pull` applies a pull in one
unit of work).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.domain.consent import ChannelGroup, contact_digest
from app.domain.hlc import Stamp
from app.storage.models import (
    ChangeFeedRow,
    ChannelPreferenceRow,
    ContactRow,
    DeliveryRow,
    OptOutRow,
    SyncClockRow,
    SyncFeedRow,
    SyncStateRow,
)

HUB = "hub"
"""The `sync_state` row of this lane's hub (shared with the push)."""

_CONTACT_KIND = {ChannelGroup.TEXT: "phone", ChannelGroup.EMAIL: "email"}
_CHANNELS = {ChannelGroup.TEXT: ("sms", "whatsapp"), ChannelGroup.EMAIL: ("email",)}
_PENDING = ("queued", "held")


def clock(session: Session, kind: str, key: str) -> Stamp | None:
    """The stamp of the newest change applied to record `kind`/`key` from the hub, if any."""
    text = session.execute(
        select(SyncClockRow.hlc).where(SyncClockRow.kind == kind, SyncClockRow.key == key[:128])
    ).scalar_one_or_none()
    return None if text is None else Stamp.parse(text)


def set_clock(session: Session, kind: str, key: str, stamp: Stamp) -> None:
    row = session.get(SyncClockRow, (kind, key[:128]))
    if row is None:
        session.add(SyncClockRow(kind=kind, key=key[:128], hlc=stamp.text))
    else:
        row.hlc = stamp.text
    session.flush()


def pulled_seq(session: Session) -> int:
    """The hub's newest profile change this lane has applied (0 before its first pull)."""
    return int(session.execute(select(SyncStateRow.pulled_seq).where(SyncStateRow.name == HUB)).scalar() or 0)


def record_pull(session: Session, pulled: int, *, at: datetime) -> None:
    """The changes up to `pulled` are applied (never moves back)."""
    row = session.get(SyncStateRow, HUB)
    if row is None:
        session.add(SyncStateRow(name=HUB, acked_seq=0, pulled_seq=pulled, last_pull_at=at))
    else:
        row.pulled_seq = max(row.pulled_seq or 0, pulled)
        row.last_pull_at = at
    session.flush()


def feed_rows(session: Session) -> int:
    """How many change-feed entries the lane holds (for tests and health)."""
    return int(session.execute(select(func.count()).select_from(ChangeFeedRow)).scalar() or 0)


@contextmanager
def feed_resumed(session: Session) -> Iterator[None]:
    """Inside `feed_paused`, the feed written again (a customer this lane creates is its own record)."""
    session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=_PAUSED_WAS))
    try:
        yield
    finally:
        session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=0))


_PAUSED_WAS = 1


@contextmanager
def feed_paused(session: Session) -> Iterator[None]:
    """Inside, this transaction's writes add nothing to the change feed.

    The triggers read `sync_feed.enabled` at each write; setting it to 0 inside the transaction hides
    these writes from the feed, while other transactions (on PostgreSQL) still see it committed as 1 and
    feed as ever. It is set back before the transaction goes on (a rollback restores it too).
    """
    before = session.execute(select(SyncFeedRow.enabled).where(SyncFeedRow.id == 1)).scalar()
    if not before:
        yield
        return
    assert before == _PAUSED_WAS
    session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=0))
    try:
        yield
    finally:
        session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=before))


def contacts_with_digest(session: Session, group: ChannelGroup, digest: str) -> list[str]:
    """This lane's contacts (on file, or waiting in a queued or held message) whose digest is `digest`."""
    known = session.execute(select(ContactRow.value).where(ContactRow.kind == _CONTACT_KIND[group])).scalars()
    waiting = session.execute(
        select(DeliveryRow.recipient)
        .where(DeliveryRow.channel.in_(_CHANNELS[group]), DeliveryRow.state.in_(_PENDING))
        .distinct()
    ).scalars()
    found = {c for c in (*known, *waiting) if c and contact_digest(c) == digest}
    return sorted(found)


def opted_out_since(session: Session, group: ChannelGroup, digest: str) -> datetime | None:
    """When the contact with this digest opted out of `group` here, or None."""
    return session.execute(
        select(OptOutRow.since).where(OptOutRow.channel_group == group.value, OptOutRow.contact_digest == digest)
    ).scalar_one_or_none()


def opt_out_digest(session: Session, group: ChannelGroup, digest: str, *, via: str, since: datetime) -> bool:
    """Record an opt-out by digest alone (a contact this lane never saw); False when already there."""
    if opted_out_since(session, group, digest) is not None:
        return False
    session.execute(
        insert(OptOutRow), {"channel_group": group.value, "contact_digest": digest, "since": since, "via": via[:32]}
    )
    return True


def opt_in_digest(session: Session, group: ChannelGroup, digest: str) -> bool:
    """Lift the opt-out of the contact with this digest; False when there was none."""
    result = session.execute(
        delete(OptOutRow).where(OptOutRow.channel_group == group.value, OptOutRow.contact_digest == digest)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def preferences_changed_at(session: Session, customer_id: int) -> datetime | None:
    """When the customer's channel preferences here last changed, or None without any."""
    return session.execute(
        select(func.max(ChannelPreferenceRow.updated_at)).where(ChannelPreferenceRow.customer_id == customer_id)
    ).scalar()
