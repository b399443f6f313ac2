"""Shopify order lifecycle webhooks as order updates: fulfilments, cancellations, refunds.

Payloads are REST resources (shopify.dev/docs/api/admin-rest/latest/resources/fulfillment, .../refund,
.../order). A fulfilment counts once it is `success` (`pending` and `open` are still at the warehouse);
which lines are then still to come is worked out against the sale we hold. A cancellation's
`cancel_reason` and a refund's `note` never reach the customer as written: they map through
`app.domain.reasons` (the note is staff-only, so a refund with one says the neutral sentence).
A cancelled order carries its `name` (`#1001`), the refunds issued with it, and a `voided`
`financial_status` when the payment was released before it was ever charged.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from app.domain.errors import ValidationFailed
from app.domain.lifecycle import OrderStatus, OrderUpdate, Tracking, UpdateLine, change_key
from app.domain.money import quantize
from app.domain.reasons import SHOPIFY_CANCEL, Reason, reason
from app.triggers.base import NotApplicable
from app.triggers.payload import lenient_list, lenient_obj, number, optional_text, text

PLATFORM = "shopify"
LIFECYCLE_TOPICS = frozenset({"fulfillments/create", "fulfillments/update", "orders/cancelled", "refunds/create"})
REFUND_LIMIT = Decimal(10) ** 9


def order_update(
    topic: str,
    payload: dict[str, Any],
    *,
    event_id: str,
    store_id: str,
    order_id: str,
    received_at: datetime,
    when: datetime | None,
) -> OrderUpdate:
    """The update a lifecycle topic announces; `NotApplicable` when it announces nothing to tell."""

    def update(status: OrderStatus, key: str, **facts: Any) -> OrderUpdate:
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_id,
            store_id=store_id,
            order_id=order_id,
            sale_id=f"{PLATFORM}-{order_id}",
            status=status,
            occurred_at=when or received_at,
            received_at=received_at,
            update_key=key,
            **facts,
        )

    if topic.startswith("fulfillments/"):
        status = payload.get("status")
        if status != "success":
            raise NotApplicable(f"Shopify fulfilment of order {order_id} is {status or 'unknown'}, not shipped yet")
        tracking = _tracking(payload)
        key = change_key("fulfillment", payload.get("id"), *sorted(t.number or "" for t in tracking))
        lines = tuple(_line(line, f"line_items.{i}") for i, line in enumerate(lenient_list(payload.get("line_items"))))
        return update(OrderStatus.SHIPPED, key, lines=lines, tracking=tracking)
    if topic == "orders/cancelled":
        if not payload.get("cancelled_at"):
            raise NotApplicable(f"Shopify order {order_id} is not cancelled")
        code = optional_text(payload.get("cancel_reason"))
        refunded = sum(
            (
                _refunded_money(refund, f"refunds.{i}.transactions")
                for i, refund in enumerate(lenient_list(payload.get("refunds")))
            ),
            Decimal(0),
        )
        return update(
            OrderStatus.CANCELLED,
            change_key("cancelled"),
            reason=reason(SHOPIFY_CANCEL, code),
            order_name=order_name(payload),
            voided=payload.get("financial_status") == "voided",
            refund_amount=quantize(refunded) if refunded > 0 else None,
            extra={"platform_reason": code[:60]} if code else {},
        )
    if topic == "refunds/create":
        refunded = _refunded_money(payload, "transactions")
        lines = tuple(
            _line(_refunded(item), f"refund_line_items.{i}")
            for i, item in enumerate(lenient_list(payload.get("refund_line_items")))
        )
        if refunded <= 0 and not lines:
            raise NotApplicable(f"Shopify refund of order {order_id} moves no money and no items")
        return update(
            OrderStatus.REFUNDED,
            change_key("refund", payload.get("id")),
            lines=lines,
            refund_amount=quantize(refunded) if refunded > 0 else None,
            reason=Reason.NEUTRAL if optional_text(payload.get("note")) else None,
        )
    raise NotApplicable(f"Shopify topic {topic} asks for no update")


def order_name(order: dict[str, Any]) -> str | None:
    """The order's `name` as the shop shows it (`#1001`): one line of at most 64 characters, else None."""
    name = order.get("name")
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        return None
    return name.strip()[:64]


def _refunded_money(refund: Any, field: str) -> Decimal:
    """What one Refund gave back: its successful `refund` transactions."""
    transactions = lenient_list(refund.get("transactions")) if isinstance(refund, dict) else []
    return sum(
        (
            number(tx.get("amount"), f"{field}.{i}.amount", limit=REFUND_LIMIT, signed=False)
            for i, tx in enumerate(transactions)
            if isinstance(tx, dict) and tx.get("kind") == "refund" and tx.get("status") == "success"
        ),
        Decimal(0),
    )


def _tracking(payload: dict[str, Any]) -> tuple[Tracking, ...]:
    company = payload.get("tracking_company")
    company = company if isinstance(company, str) and company.strip() else None
    numbers = [n for n in lenient_list(payload.get("tracking_numbers")) if isinstance(n, str) and n.strip()]
    urls = [u for u in lenient_list(payload.get("tracking_urls")) if isinstance(u, str) and u.strip()]
    if not numbers and isinstance(payload.get("tracking_number"), str):
        numbers = [payload["tracking_number"]]
    if not urls and isinstance(payload.get("tracking_url"), str):
        urls = [payload["tracking_url"]]
    count = max(len(numbers), len(urls))
    return tuple(
        Tracking(
            company[:60] if company else None,
            numbers[i].strip()[:60] if i < len(numbers) else None,
            urls[i].strip()[:500] if i < len(urls) else None,
        )
        for i in range(count)
    )


def _refunded(item: Any) -> Any:
    """A refund line: the order line it names under `line_item`, with the quantity refunded."""
    return dict(lenient_obj(item.get("line_item")), quantity=item.get("quantity")) if isinstance(item, dict) else item


def _line(line: Any, field: str) -> UpdateLine:
    line = lenient_obj(line)
    quantity = line.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= 100_000:
        raise ValidationFailed(f"{field}.quantity: expected a whole number", field=f"{field}.quantity")
    name = line.get("title") or line.get("name")
    sku = line.get("sku")
    return UpdateLine(
        text(name, "Item"),
        Decimal(quantity),
        sku.strip()[:64] if isinstance(sku, str) and sku.strip() else None,
    )
