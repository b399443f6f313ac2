"""The in-store POS posting canonical sales to the local API."""

from __future__ import annotations

from datetime import datetime

from app.domain.cards import refuse_card_number
from app.domain.errors import ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.sale import Sale

SOURCE = "pos-api"
HEADER = "Idempotency-Key"
MAX_KEY = 200
"""The longest event id stored; a longer `Idempotency-Key` is cut to it."""


def pos_event(sale: Sale, *, idempotency_key: str | None, received_at: datetime) -> TriggerEvent:
    """A POS sale as a trigger event.

    The POS's `Idempotency-Key` header is its event id; without one, the sale's own identity
    (store and sale id) is, so a retried post is recognised either way. The key is stored and written
    to the audit log, so one that is not printable ASCII (an sf-string, as the IETF Idempotency-Key
    draft defines it) is refused with `ValidationFailed`, and one holding a card number with
    `CardDataRejected`; both name the header and never repeat it.
    """
    key = (idempotency_key or "").strip()
    if key:
        if not all(" " <= char <= "~" for char in key):
            raise ValidationFailed(f"{HEADER} must be printable ASCII.", field=HEADER)
        refuse_card_number(key, HEADER)
        event_id = key[:MAX_KEY]
    else:
        event_id = f"{sale.store_id}:{sale.sale_id}"[:MAX_KEY]
        # Each is checked alone; joined by ":" the two could still read as one card number.
        refuse_card_number(event_id, "store_id and sale_id")
    return TriggerEvent(source=SOURCE, event_id=event_id, sale=sale, received_at=received_at, order_id=sale.order_id)
