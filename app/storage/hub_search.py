"""The hub's lists and searches across lanes: `hub_receipts` (filled as lanes' batches are applied,
`app.storage.hub`) read by time, sale id, last four digits of a card or customer key (or any contact or
loyalty id the customer is known by at that lane: `hub_customer_aliases`), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.orm import Session

from app.storage.hub import ALIASES, RECEIPTS


@dataclass(frozen=True, slots=True)
class Search:
    """What to look for: receipts in `[since, until)` (either end open when None), of one lane when given,
    and matching any of `sale_id`, `card_last4` or `customer_key` given (any one of them finds a receipt)."""

    limit: int
    since: datetime | None = None
    until: datetime | None = None
    lane_id: str | None = None
    sale_id: str | None = None
    card_last4: str | None = None
    customer_key: str | None = None


@dataclass(frozen=True, slots=True)
class HubReceipt:
    lane_id: str
    receipt_id: str
    store_id: str
    sale_id: str
    lane: str | None
    occurred_at: datetime
    total: Decimal
    card_last4: str | None
    state: str | None


def search(session: Session, what: Search) -> list[HubReceipt]:
    """The receipts `what` names, newest first, at most `what.limit`."""
    c = RECEIPTS.c
    query = select(RECEIPTS)
    if what.since is not None:
        query = query.where(c.occurred_at >= what.since)
    if what.until is not None:
        query = query.where(c.occurred_at < what.until)
    if what.lane_id is not None:
        query = query.where(c.lane_id == what.lane_id)
    matches: list[ColumnElement[bool]] = []
    if what.sale_id is not None:
        matches.append(c.sale_id == what.sale_id)
    if what.card_last4 is not None:
        matches.append(c.card_last4 == what.card_last4)
    if what.customer_key is not None:  # the key their receipts carry, or any other they are known by
        known_as = select(ALIASES.c.lane_id, ALIASES.c.customer_key).where(ALIASES.c.alias == what.customer_key)
        matches.append(c.customer_key == what.customer_key)
        matches.append(tuple_(c.lane_id, c.customer_key).in_(known_as))
    if matches:
        query = query.where(or_(*matches))
    query = query.order_by(c.occurred_at.desc(), c.lane_id, c.receipt_id).limit(what.limit)
    return [
        HubReceipt(
            r.lane_id,
            r.receipt_id,
            r.store_id,
            r.sale_id,
            r.lane,
            r.occurred_at,
            Decimal(r.total),
            r.card_last4,
            r.state,
        )
        for r in session.execute(query)
    ]
