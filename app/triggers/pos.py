"""The in-store POS posting canonical sales to the local API."""

from __future__ import annotations

from datetime import datetime

from app.domain.events import TriggerEvent
from app.domain.sale import Sale

SOURCE = "pos-api"


def pos_event(sale: Sale, *, idempotency_key: str | None, received_at: datetime) -> TriggerEvent:
    """A POS sale as a trigger event.

    The POS's `Idempotency-Key` header is its event id; without one, the sale's own identity
    (store and sale id) is, so a retried post is recognised either way.
    """
    event_id = (
        idempotency_key.strip() if idempotency_key and idempotency_key.strip() else f"{sale.store_id}:{sale.sale_id}"
    )
    return TriggerEvent(
        source=SOURCE, event_id=event_id[:200], sale=sale, received_at=received_at, order_id=sale.order_id
    )
