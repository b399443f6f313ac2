"""One receipt across lanes, as the hub holds it (`GET /v1/hub/receipts/{id}`, docs/hub.md): its row in
`hub_receipts`, its sale and deliveries from the lane's records in `hub_records`, and the requests made
for it through the hub (`hub_requests`). Delivery recipients leave here masked, as the manager window shows
them; the requests' contacts are masked where they are answered (`app.server.hub_requests.RequestOut`).

A lane's deliveries are keyed by their own id, not the receipt's: they are found among the lane's
`deliveries` records (the primary key's `lane_id, kind` prefix) whose text names the receipt id, then
checked field by field, so the text's layout does not matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.contacts import mask_contact
from app.storage import hub_requests
from app.storage.hub import RECEIPTS, RECORDS
from app.storage.hub_requests import HubRequest
from app.storage.hub_search import HubReceipt

HIDDEN_SALE_FIELDS = frozenset({"payload", "payload_hash"})
"""Left out of the sale shown: the POS's own payload may carry the customer's contacts unmasked."""


@dataclass(frozen=True, slots=True)
class HubDelivery:
    id: str
    channel: str
    recipient: str  # masked
    state: str
    attempts: int
    updated_at: str | None  # as the lane wrote it


@dataclass(frozen=True, slots=True)
class HubReceiptDetail:
    receipt: HubReceipt
    sale: dict[str, Any]
    deliveries: list[HubDelivery]
    requests: list[HubRequest]


def lanes_with(session: Session, receipt_id: str) -> list[str]:
    """The lanes holding a receipt with this id (a receipt id is a UUID: one lane, nearly always)."""
    c = RECEIPTS.c
    return list(session.scalars(select(c.lane_id).where(c.receipt_id == receipt_id).order_by(c.lane_id).limit(2)))


def detail(session: Session, lane_id: str, receipt_id: str) -> HubReceiptDetail | None:
    """The receipt `receipt_id` of `lane_id` with its sale, deliveries and requests; None when the hub has none."""
    c = RECEIPTS.c
    row = session.execute(select(RECEIPTS).where(c.lane_id == lane_id, c.receipt_id == receipt_id)).first()
    if row is None:
        return None
    receipt = HubReceipt(
        row.lane_id,
        row.receipt_id,
        row.store_id,
        row.sale_id,
        row.lane,
        row.occurred_at,
        Decimal(row.total),
        row.card_last4,
        row.state,
    )
    sale: dict[str, Any] = {}
    sale_pk = _data(session, lane_id, "receipts", receipt_id).get("sale_pk")
    if sale_pk is not None:
        sale = {k: v for k, v in _data(session, lane_id, "sales", str(sale_pk)).items() if k not in HIDDEN_SALE_FIELDS}
    return HubReceiptDetail(
        receipt, sale, deliveries(session, lane_id, receipt_id), hub_requests.for_receipt(session, lane_id, receipt_id)
    )


def deliveries(session: Session, lane_id: str, receipt_id: str) -> list[HubDelivery]:
    """The lane's deliveries of the receipt, oldest first, recipients masked."""
    r = RECORDS.c
    rows = session.execute(
        select(r.data).where(r.lane_id == lane_id, r.kind == "deliveries", r.data.contains(receipt_id, autoescape=True))
    )
    found: list[dict[str, Any]] = []
    for (text,) in rows:
        data = _loads(text)
        if data.get("receipt_id") == receipt_id:
            found.append(data)
    found.sort(key=lambda d: (str(d.get("created_at") or ""), str(d.get("id"))))
    return [
        HubDelivery(
            id=str(d.get("id")),
            channel=str(d.get("channel") or ""),
            recipient=mask_contact(str(d.get("recipient") or "")),
            state=str(d.get("state") or ""),
            attempts=int(d.get("attempts") or 0),
            updated_at=None if d.get("updated_at") is None else str(d["updated_at"]),
        )
        for d in found
    ]


def _data(session: Session, lane_id: str, kind: str, key: str) -> dict[str, Any]:
    r = RECORDS.c
    text = session.scalar(select(r.data).where(r.lane_id == lane_id, r.kind == kind, r.key == key))
    return {} if text is None else _loads(text)


def _loads(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
