"""The order lifecycle service: once per change and per event, waiting for the receipt, even across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate, Tracking, UpdateLine
from app.domain.reasons import Reason
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.storage.models import DeliveryRow, OrderUpdateRow
from app.triggers.pos import pos_event
from tests.conftest import new_database, wait_until

Payload = Callable[..., dict[str, Any]]
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def make_runtime(tmp_path: Path, sandbox: RunningSandbox) -> Runtime:
    new_database(tmp_path)
    return build_runtime(sandbox_settings(Settings(), sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url))


def update(status: OrderStatus, key: str, event_id: str, **facts: Any) -> OrderUpdate:
    return OrderUpdate(
        source="shopify",
        event_id=event_id,
        store_id="store-0042",
        order_id="WEB-77",
        status=status,
        occurred_at=NOW,
        received_at=NOW,
        update_key=key,
        **facts,
    )


async def sell(runtime: Runtime, sale_payload: Payload, **customer: Any) -> str:
    payload = sale_payload("S-77")
    payload["order_id"] = "WEB-77"
    if customer:
        payload["customer"] = customer
    else:
        payload.pop("customer", None)
    result = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return result.receipt_id


async def update_deliveries(runtime: Runtime) -> list[DeliveryRow]:
    return await runtime.db.read(
        lambda s: list(s.scalars(select(DeliveryRow).where(DeliveryRow.idempotency_key.like("upd-%"))))
    )


async def test_an_update_goes_to_every_channel_and_person_the_receipt_went_to(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(
            runtime, sale_payload, email="ana@example.com", phone="+1 217 555 0123", channels=["email", "sms"]
        )
        cancelled = update(OrderStatus.CANCELLED, "cancelled", "e1", reason=Reason.UNAVAILABLE)
        result = await runtime.lifecycle.apply(cancelled) if runtime.lifecycle else None
        assert result is not None and result.receipt_id == receipt_id and result.deliveries == 2
        rows = await update_deliveries(runtime)
        assert sorted((r.channel, r.recipient) for r in rows) == [("email", "ana@example.com"), ("sms", "+12175550123")]
        context = [r.context or "" for r in rows]
        assert all("Some items were not available." in c and "WEB-77" in c for c in context)
        # The same event again, and the same change under another event id: nothing more.
        assert runtime.lifecycle is not None
        assert (await runtime.lifecycle.apply(cancelled)).duplicate
        assert (await runtime.lifecycle.apply(update(OrderStatus.CANCELLED, "cancelled", "e2"))).duplicate
        assert len(await update_deliveries(runtime)) == 2
    finally:
        await runtime.close()


async def test_a_receipt_nobody_asked_to_receive_records_the_update_and_sends_nothing(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(runtime, sale_payload)
        assert runtime.lifecycle is not None
        result = await runtime.lifecycle.apply(update(OrderStatus.REFUNDED, "r1", "e1", refund_amount=Decimal("2.50")))
        assert (result.receipt_id, result.deliveries) == (receipt_id, 0)
        detail = await runtime.receipts.get(receipt_id)
        assert [(u.status, u.detail["refund_amount"]) for u in detail.updates] == [("refunded", "2.50")]
    finally:
        await runtime.close()


async def test_an_update_waiting_for_its_sale_is_sent_after_a_restart(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    first = make_runtime(tmp_path, sandbox)
    shipped = update(
        OrderStatus.SHIPPED,
        "f1",
        "e1",
        lines=(UpdateLine("anything", Decimal(1)),),
        tracking=(Tracking("USPS", "9400", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400"),),
    )
    try:
        assert first.lifecycle is not None
        result = await first.lifecycle.apply(shipped)
        assert result.receipt_id is None
        # The sale arrives while nothing follows new receipts (the kiosk is stopping): it must not be lost.
        await sell(first, sale_payload, email="ana@example.com", channels=["email"])
        assert await update_deliveries(first) == []
    finally:
        await first.close()

    again = make_runtime(tmp_path, sandbox)
    try:
        assert again.lifecycle is not None
        assert await again.lifecycle.send_waiting() == 1
        [row] = await update_deliveries(again)
        assert "9400" in (row.context or "")
        assert await again.lifecycle.send_waiting() == 0
        stored = await again.db.read(lambda s: s.scalars(select(OrderUpdateRow)).one())
        assert stored.receipt_id is not None and stored.status == "partially_shipped"  # nothing it names was ordered
    finally:
        await again.close()


async def test_an_update_whose_sale_another_terminal_recorded_is_sent_by_the_sweep(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    """Two terminals, one database: the update lands on one, the sale on the other, at about the same time."""
    here = make_runtime(tmp_path, sandbox)
    there = make_runtime(tmp_path, sandbox)  # the same database file: another lane's terminal
    try:
        assert here.lifecycle is not None
        here.lifecycle.sweep_every = timedelta(milliseconds=50)
        here.lifecycle.start()
        assert (await here.lifecycle.apply(update(OrderStatus.CANCELLED, "cancelled", "e1"))).receipt_id is None
        await sell(there, sale_payload, email="ana@example.com", channels=["email"])  # no event reaches `here`

        async def sent() -> bool:
            return len(await update_deliveries(here)) == 1

        await wait_until(sent, timeout=5)
    finally:
        await here.close()
        await there.close()


def flat(text: str) -> str:
    return " ".join(text.split())


async def cancellation_text(runtime: Runtime, receipt_id: str, *before: OrderUpdate, **facts: Any) -> tuple[str, str]:
    """Apply `before` then a cancellation; the subject and flattened text the cancellation went out with."""
    assert runtime.lifecycle is not None
    for earlier in before:
        await runtime.lifecycle.apply(earlier)
    result = await runtime.lifecycle.apply(update(OrderStatus.CANCELLED, "cancelled", "e-cancel", **facts))
    assert result.receipt_id == receipt_id and result.deliveries == 1
    [told] = [u for u in (await runtime.receipts.get(receipt_id)).updates if u.status == "cancelled"]
    return told.subject, flat(told.text)


async def test_a_cancellation_of_a_charged_order_with_nothing_shipped_says_a_refund_follows(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(runtime, sale_payload, email="ana@example.com", channels=["email"])
        subject, text = await cancellation_text(runtime, receipt_id, reason=Reason.CUSTOMER_REQUEST)
        assert subject.startswith("Your order WEB-77 from")
        assert "Your order WEB-77 was cancelled. A refund to your original payment method follows." in text
        assert "This was done at your request." in text
        assert "STILL TO COME" not in text and "not charged" not in text
    finally:
        await runtime.close()


async def test_a_cancellation_of_a_voided_payment_says_nothing_was_charged(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(runtime, sale_payload, email="ana@example.com", channels=["email"], language="es")
        subject, text = await cancellation_text(runtime, receipt_id, voided=True, order_name="#1001")
        assert subject.startswith("Su pedido #1001 de")  # the shop's name of the order, not our id
        assert "Su pedido #1001 fue cancelado. No se le cobró nada." in text
        assert "reembolso" not in text.casefold() and "WEB-77" not in subject
    finally:
        await runtime.close()


async def test_a_cancellation_after_a_refund_says_the_refund_was_issued_with_its_amount(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(runtime, sale_payload, email="ana@example.com", channels=["email"])
        refund = update(OrderStatus.REFUNDED, "r1", "e-refund", refund_amount=Decimal("2.50"))
        _, text = await cancellation_text(runtime, receipt_id, refund)
        assert "was cancelled. We refunded $2.50 to your original payment method." in text
        assert "refund to your original payment method follows" not in text
        assert "REFUNDED $2.50" in text
    finally:
        await runtime.close()


async def test_a_cancellation_after_part_shipped_says_what_still_comes_and_what_was_cancelled(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = make_runtime(tmp_path, sandbox)
    try:
        receipt_id = await sell(runtime, sale_payload, email="ana@example.com", channels=["email"])
        sale = sale_payload("S-77")
        first, rest = sale["items"][0], sale["items"][1:]
        shipped = update(
            OrderStatus.SHIPPED,
            "f1",
            "e-ship",
            lines=(UpdateLine(first["name"], Decimal(first["quantity"]), first.get("sku")),),
        )
        subject, text = await cancellation_text(runtime, receipt_id, shipped)
        assert subject.startswith("Part of your order WEB-77 from") and subject.endswith("was cancelled")
        assert "Part of your order WEB-77 had already shipped and is still on its way to you." in text
        assert "The rest was cancelled. A refund to your original payment method follows." in text
        cancelled = text.split("CANCELLED ", 1)[1].split("STILL TO COME", 1)[0]
        still = text.split("STILL TO COME", 1)[1]
        assert all(line["name"] in cancelled for line in rest) and first["name"] not in cancelled
        assert first["name"] in still
    finally:
        await runtime.close()
