"""Resend requests through the hub (`docs/hub.md`, "Requests"), both sides; functions take the caller's
session, which commits.

- **The hub** keeps each request in `hub_requests`: made for a receipt the hub holds of that lane
  (`create`), listed to the lane while `pending` (`pending`), then `done` or `failed` as the lane reports
  (`record_outcome`: the first outcome stays, a repeated one changes nothing).
- **The lane** keeps in `sync_requests` each request it carried out, keyed by the request's id
  (`record_carried`), in the same transaction as the delivery it queued, so a request is carried out at
  most once; `reported_at` says the hub heard how it went (`mark_reported`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.storage.models import HubLaneRow, HubReceiptRow, HubRequestRow, SyncRequestRow

PENDING = "pending"
DONE = "done"
FAILED = "failed"
OUTCOMES = frozenset({DONE, FAILED})
RESEND = "resend"  # the one kind of request there is


@dataclass(frozen=True, slots=True)
class HubRequest:
    """A request as the hub keeps it; `contact` unmasked (None for a reprint)."""

    id: int
    lane_id: str
    receipt_id: str
    kind: str
    channel: str | None
    contact: str | None
    reason: str
    requested_by: str
    requested_at: datetime
    state: str
    detail: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Carried:
    """A request this lane carried out, and whether the hub heard how it went."""

    request_id: int
    receipt_id: str
    state: str
    detail: str | None
    delivery_id: str | None
    reported_at: datetime | None


def _request(row: HubRequestRow) -> HubRequest:
    return HubRequest(
        row.id,
        row.lane_id,
        row.receipt_id,
        row.kind,
        row.channel,
        row.contact,
        row.reason,
        row.requested_by,
        row.requested_at,
        row.state,
        row.detail,
        row.updated_at,
    )


# -- the hub's side ---------------------------------------------------------------------------------


def create(
    session: Session,
    *,
    lane_id: str,
    receipt_id: str,
    channel: str,
    contact: str | None,
    reason: str,
    requested_by: str,
    now: datetime,
) -> HubRequest | None:
    """A new pending resend of the lane's receipt; None (nothing written) when the hub has no such receipt."""
    held = session.execute(
        select(HubReceiptRow.receipt_id).where(HubReceiptRow.lane_id == lane_id, HubReceiptRow.receipt_id == receipt_id)
    ).first()
    if held is None:
        return None
    row = HubRequestRow(
        lane_id=lane_id,
        kind=RESEND,
        receipt_id=receipt_id,
        channel=channel,
        contact=contact,
        reason=reason,
        requested_by=requested_by,
        requested_at=now,
        state=PENDING,
        detail=None,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _request(row)


def get(session: Session, request_id: int) -> HubRequest | None:
    row = session.get(HubRequestRow, request_id)
    return None if row is None else _request(row)


def for_receipt(session: Session, lane_id: str, receipt_id: str, *, limit: int = 100) -> list[HubRequest]:
    """The requests made for one receipt of a lane, oldest first."""
    rows = session.scalars(
        select(HubRequestRow)
        .where(HubRequestRow.lane_id == lane_id, HubRequestRow.receipt_id == receipt_id)
        .order_by(HubRequestRow.id)
        .limit(limit)
    )
    return [_request(row) for row in rows]


def pending(session: Session, lane_id: str, *, limit: int = 100) -> list[HubRequest]:
    """The lane's pending requests, oldest first (`ix_hub_requests_lane_state`)."""
    rows = session.scalars(
        select(HubRequestRow)
        .where(HubRequestRow.lane_id == lane_id, HubRequestRow.state == PENDING)
        .order_by(HubRequestRow.id)
        .limit(limit)
    )
    return [_request(r) for r in rows]


def lane_token(session: Session, lane_id: str) -> str | None:
    """The name of the token the lane pushes with, when the hub has bound one to it (`hub_lanes.token_name`)."""
    return session.scalar(select(HubLaneRow.token_name).where(HubLaneRow.lane_id == lane_id))


def record_outcome(
    session: Session, request_id: int, *, lane_id: str, state: str, detail: str | None, now: datetime
) -> HubRequest | None:
    """The lane's outcome on its pending request (one statement: of two at once, one wins); an outcome
    already recorded stays as it is. None when the lane has no such request."""
    session.execute(
        update(HubRequestRow)
        .where(HubRequestRow.id == request_id, HubRequestRow.lane_id == lane_id, HubRequestRow.state == PENDING)
        .values(state=state, detail=detail, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    row = session.get(HubRequestRow, request_id, populate_existing=True)
    return None if row is None or row.lane_id != lane_id else _request(row)


# -- the lane's side --------------------------------------------------------------------------------


def carried(session: Session, request_id: int) -> Carried | None:
    """How this lane carried out the request, or None when it has not."""
    row = session.get(SyncRequestRow, request_id)
    if row is None:
        return None
    return Carried(row.request_id, row.receipt_id, row.state, row.detail, row.delivery_id, row.reported_at)


def record_carried(
    session: Session,
    request_id: int,
    *,
    receipt_id: str,
    state: str,
    detail: str | None,
    delivery_id: str | None,
    now: datetime,
) -> None:
    """The request carried out (`done`, with the delivery it queued) or refused (`failed`, with the lane's
    sentence); a second one for the same request fails the caller's transaction (its key is the id)."""
    session.add(
        SyncRequestRow(
            request_id=request_id,
            receipt_id=receipt_id,
            state=state,
            detail=detail,
            delivery_id=delivery_id,
            done_at=now,
            reported_at=None,
        )
    )
    session.flush()


def mark_reported(session: Session, request_id: int, *, now: datetime) -> None:
    session.execute(
        update(SyncRequestRow)
        .where(SyncRequestRow.request_id == request_id)
        .values(reported_at=now)
        .execution_options(synchronize_session=False)
    )
