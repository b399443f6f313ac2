"""Checkout renders a receipt before its transaction, off the single writer, and behaves as if it did not."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel, Language
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.receipt import RenderedReceipt, StoreProfile
from app.domain.sale import Sale
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus
from app.services.checkout import CheckoutService
from app.storage.database import Database
from app.storage.models import CustomerRow, ReceiptRow, SaleRow

Payload = Callable[..., dict[str, Any]]


class TemplateBroke(Exception):
    pass


class WatchedRenderer:
    """The real renderer, which fails while `broken` and notes the thread and language of every render."""

    def __init__(self) -> None:
        self._real = ReceiptRenderer()
        self.broken = False
        self.renders: list[tuple[str, Language]] = []

    def render(self, sale: Sale, store: StoreProfile, language: Language) -> RenderedReceipt:
        self.renders.append((threading.current_thread().name, language))
        if self.broken:
            raise TemplateBroke("the receipt template broke")
        return self._real.render(sale, store, language)


def event(payload: dict[str, Any], event_id: str) -> TriggerEvent:
    return TriggerEvent("pos-api", event_id, parse_sale(payload), datetime.now(UTC))


async def count(db: Database, model: Any) -> int:
    return int(await db.read(lambda s: s.scalar(select(func.count()).select_from(model))))


async def test_a_sale_whose_render_fails_is_refused_whole_and_its_duplicate_still_answered(
    db: Database, sale_payload: Payload
) -> None:
    renderer = WatchedRenderer()
    checkout = CheckoutService(db, renderer, DEMO_PROFILE, {Channel.EMAIL: "sendgrid"}, EventBus())
    first = await checkout.accept(event(sale_payload("S-1"), "evt-1"))
    assert all(thread != "db-writer" for thread, _ in renderer.renders)  # rendered off the writer

    renderer.broken = True
    with pytest.raises(TemplateBroke):  # the render's own error, as when the writer rendered
        await checkout.accept(event(sale_payload("S-2", seed=2), "evt-2"))
    assert await count(db, SaleRow) == 1 and await count(db, ReceiptRow) == 1  # nothing of it stored
    again = await checkout.accept(event(sale_payload("S-1"), "evt-1"))  # a duplicate needs no render
    assert again.duplicate and again.receipt_id == first.receipt_id

    renderer.broken = False
    second = await checkout.accept(event(sale_payload("S-2", seed=2), "evt-2"))
    assert not second.duplicate and await count(db, ReceiptRow) == 2


async def test_a_customer_on_file_gets_the_receipt_in_their_own_language(db: Database, sale_payload: Payload) -> None:
    renderer = WatchedRenderer()
    checkout = CheckoutService(db, renderer, DEMO_PROFILE, {Channel.EMAIL: "sendgrid"}, EventBus())
    first = sale_payload("S-1", with_customer=True)
    first["customer"] = {"loyalty_id": "LM12345678", "language": "es"}
    await checkout.accept(event(first, "evt-1"))
    assert await count(db, CustomerRow) == 1
    second = sale_payload("S-2", seed=5)
    second["customer"] = {"loyalty_id": "LM12345678"}  # no language: the one on file is only known in the writer
    renderer.renders.clear()
    await checkout.accept(event(second, "evt-2"))
    languages = await db.read(lambda s: list(s.scalars(select(ReceiptRow.language).order_by(ReceiptRow.created_at))))
    assert languages == ["es", "es"]
    assert renderer.renders == [("MainThread", Language.EN), ("db-writer", Language.ES)]
