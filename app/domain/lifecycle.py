"""What happens to an order after its receipt: shipped (in parts), cancelled, refunded.

A platform says something about an order; the trigger turns it into an `OrderUpdate`. The update
names the lines it is about (what shipped, what was refunded); what is still pending is worked out
from the sale we hold, so every platform gets the same "shipped / still to come" story.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.domain.reasons import Reason

NOT_SHIPPED_SKUS = frozenset({"SHIPPING"})
"""Sale lines that are charges, not goods (shipping), and so are never "still to come"."""


class OrderStatus(StrEnum):
    """The status an update announces. `paid` is the receipt itself, so it never comes as an update."""

    FULFILLED = "fulfilled"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"  # a shipment whose share of the order is not known yet; settled against the sale
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class UpdateLine:
    """One line an update is about: by SKU when the platform has one, else by name."""

    name: str
    quantity: Decimal
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class Tracking:
    company: str | None
    number: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A status change of one order, as a platform reported it.

    `update_key` names the change itself (a fulfilment and its tracking, a refund id), so two
    notifications of the same change (fulfillments/create then /update with nothing new) send one
    message, while `event_id` is the platform's id of this notification (dedupe of retries).
    `reason` is already mapped from the platform's code (`app.domain.reasons`), `order_name` is the
    shop's own name of the order (`#1001`) when the platform has one, and `voided` says the payment
    was voided (released before it was ever charged). On a cancellation, `refund_amount` is what the
    platform says was refunded with it.
    """

    source: str
    event_id: str
    store_id: str
    order_id: str
    status: OrderStatus
    occurred_at: datetime
    received_at: datetime
    update_key: str
    lines: tuple[UpdateLine, ...] = ()
    tracking: tuple[Tracking, ...] = ()
    refund_amount: Decimal | None = None
    reason: Reason | None = None
    order_name: str | None = None
    voided: bool = False
    sale_id: str | None = None  # when the platform knows our sale id better than the order id (Stripe)
    extra: dict[str, str] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        """The update as JSON-safe data (stored with it, and shown in the receipt's timeline)."""
        return {
            "status": self.status.value,
            "lines": [{"name": ln.name, "quantity": str(ln.quantity), "sku": ln.sku} for ln in self.lines],
            "tracking": [{"company": t.company, "number": t.number, "url": t.url} for t in self.tracking],
            "refund_amount": None if self.refund_amount is None else str(self.refund_amount),
            "reason": None if self.reason is None else self.reason.value,
            "order_name": self.order_name,
            "voided": self.voided,
            "extra": dict(self.extra),
        }


def change_key(*parts: object) -> str:
    """A short stable key for a change made of `parts` (e.g. a fulfilment id and its tracking numbers)."""
    text = json.dumps([str(p) for p in parts], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an order stands after an update: every line shipped so far, and what is still to come."""

    shipped: tuple[UpdateLine, ...]
    pending: tuple[UpdateLine, ...]

    @property
    def complete(self) -> bool:
        return not self.pending


def shipment_progress(ordered: list[UpdateLine], shipments: list[tuple[UpdateLine, ...]]) -> Progress:
    """Match every shipped line against the ordered lines (SKU first, then name) and say what is left.

    A shipment naming no lines ships everything (platforms send that for a whole-order fulfilment).
    """
    remaining: dict[int, Decimal] = {i: line.quantity for i, line in enumerate(ordered)}
    shipped: dict[int, Decimal] = {}
    for shipment in shipments:
        if not shipment:
            for i in remaining:
                shipped[i] = shipped.get(i, Decimal(0)) + remaining[i]
                remaining[i] = Decimal(0)
            continue
        for line in shipment:
            left = line.quantity
            for i, want in enumerate(ordered):
                if left <= 0:
                    break
                same = (line.sku and want.sku == line.sku) or want.name.casefold() == line.name.casefold()
                if not same or remaining[i] <= 0:
                    continue
                take = min(left, remaining[i])
                remaining[i] -= take
                shipped[i] = shipped.get(i, Decimal(0)) + take
                left -= take
    return Progress(
        shipped=tuple(UpdateLine(ordered[i].name, q, ordered[i].sku) for i, q in sorted(shipped.items()) if q > 0),
        pending=tuple(UpdateLine(ordered[i].name, q, ordered[i].sku) for i, q in sorted(remaining.items()) if q > 0),
    )


class Charge(StrEnum):
    """What a cancelled order's money did, as the customer should hear it."""

    NONE = "none"  # nothing was charged (or the payment was voided before it was)
    REFUND_FOLLOWS = "refund_follows"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Cancellation:
    """What a cancellation means for this order: what still comes, what was cancelled, and the money."""

    charge: Charge
    refunded: Decimal | None  # the refund already issued, when `charge` is REFUNDED
    still_coming: tuple[UpdateLine, ...]  # shipped before the cancellation: on its way all the same
    cancelled: tuple[UpdateLine, ...]

    @property
    def partly_shipped(self) -> bool:
        return bool(self.still_coming)


def cancellation(
    ordered: list[UpdateLine],
    shipments: list[tuple[UpdateLine, ...]],
    *,
    charged: bool,
    refunded: Decimal,
) -> Cancellation:
    """The story of a cancellation, from the order's lines, its shipments so far and its money.

    `charged` is False when nothing was charged (a zero sale, a voided payment); `refunded` is the most
    any source says was refunded already. Money comes first: a refund issued is said with its amount,
    else a charged order is told a refund follows.
    """
    progress = shipment_progress(ordered, shipments)
    if refunded > 0:
        charge, amount = Charge.REFUNDED, refunded
    else:
        charge, amount = (Charge.REFUND_FOLLOWS if charged else Charge.NONE), None
    return Cancellation(charge, amount, progress.shipped, progress.pending)
