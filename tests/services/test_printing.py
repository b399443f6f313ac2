"""Printing through the real outbox and dispatcher, on a real SQLite file, to a dummy printer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config.settings import PrinterSettings, Settings
from app.demo.wiring import DEMO_PROFILE
from app.devices.escpos import encode
from app.devices.printer import DummyPrinter
from app.domain.channels import Channel, Language
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.printdoc import Paper
from app.main import build_runtime
from app.rendering.print_receipt import print_receipt
from app.rendering.receipts import ReceiptRenderer
from app.services.breaker import CircuitBreaker
from app.services.bus import DeliveryChanged, EventBus, PrinterStatusChanged
from app.services.checkout import CheckoutService
from app.services.dispatch import Dispatcher
from app.services.printing import PRINTER_PROVIDER, PrinterAdapter
from app.services.retry import RetryPolicy
from app.storage.database import Database
from app.storage.models import AttemptRow, DeliveryRow
from tests.conftest import new_database, wait_until

Payload = Callable[..., dict[str, Any]]


@dataclass
class Lane:
    db: Database
    bus: EventBus
    printer: DummyPrinter
    adapter: PrinterAdapter
    checkout: CheckoutService
    dispatcher: Dispatcher
    events: list[object] = field(default_factory=list)

    async def sell(self, payload: dict[str, Any], event_id: str = "e1") -> str:
        event = TriggerEvent("pos-api", event_id, parse_sale(payload), datetime.now(UTC), channels=(Channel.PRINT,))
        result = await self.checkout.accept(event)
        assert [d.channel for d in result.deliveries] == [Channel.PRINT]
        return result.receipt_id

    async def delivery(self) -> DeliveryRow:
        return await self.db.read(lambda s: s.scalars(select(DeliveryRow)).one())

    async def attempts(self) -> list[AttemptRow]:
        return await self.db.read(lambda s: list(s.scalars(select(AttemptRow).order_by(AttemptRow.id))))


@pytest.fixture
async def lane(db: Database) -> AsyncIterator[Lane]:
    bus = EventBus()
    printer = DummyPrinter()
    adapter = PrinterAdapter(db, printer, DEMO_PROFILE, bus=bus)
    routing = {Channel.PRINT: PRINTER_PROVIDER}
    checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, routing, bus)
    dispatcher = Dispatcher(
        db,
        {PRINTER_PROVIDER: adapter},
        bus,
        policy=RetryPolicy(base_delay=0.05, max_delay=0.1),
        breaker=CircuitBreaker(threshold=1000),
        concurrency=2,
        idle_poll=0.05,
    )
    result = Lane(db, bus, printer, adapter, checkout, dispatcher)
    bus.subscribe(DeliveryChanged, result.events.append)
    bus.subscribe(PrinterStatusChanged, result.events.append)
    yield result
    await dispatcher.stop()


async def test_a_print_delivery_prints_the_receipt_once(lane: Lane, sale_payload: Payload) -> None:
    payload = sale_payload(with_customer=True)
    await lane.sell(payload)
    lane.dispatcher.start()
    await wait_until(lambda: lane.printer.jobs == 1)
    await wait_until(lambda: _count(lane, DeliveryChanged) == 1)
    delivery = await lane.delivery()
    assert delivery.state == DeliveryState.DELIVERED.value and delivery.recipient == PRINTER_PROVIDER
    assert delivery.attempts == 1
    expected = encode(print_receipt(parse_sale(payload), DEMO_PROFILE, Language.EN))
    assert lane.printer.output == expected
    await lane.dispatcher.stop()
    assert lane.printer.jobs == 1


async def test_out_of_paper_is_retried_with_the_reason_shown_then_printed(lane: Lane, sale_payload: Payload) -> None:
    lane.printer.paper_out()
    await lane.sell(sale_payload())
    lane.dispatcher.start()
    await wait_until(lambda: _count(lane, DeliveryChanged) >= 2)
    delivery = await lane.delivery()
    assert delivery.state in (DeliveryState.QUEUED.value, DeliveryState.SENDING.value)
    assert "out of paper" in (delivery.last_error or "")
    changes = [e for e in lane.events if isinstance(e, DeliveryChanged)]
    assert changes[0].state is DeliveryState.QUEUED and "out of paper" in (changes[0].error or "")
    printer_events = [e for e in lane.events if isinstance(e, PrinterStatusChanged)]
    assert len(printer_events) == 1 and not printer_events[0].ok  # reported once, not on every retry
    assert lane.adapter.problem is not None and lane.printer.output == b""
    assert {a.outcome for a in await lane.attempts()} == {"transient"}

    lane.printer.ready()  # paper loaded
    await wait_until(lambda: lane.printer.jobs == 1)
    await lane.dispatcher.stop()
    delivery = await lane.delivery()
    assert delivery.state == DeliveryState.DELIVERED.value and delivery.attempts >= 3
    assert [a.outcome for a in await lane.attempts()][-1] == "sent"
    assert [e.ok for e in lane.events if isinstance(e, PrinterStatusChanged)] == [False, True]
    assert lane.adapter.problem is None


async def test_an_unplugged_printer_waits_in_the_queue(lane: Lane, sale_payload: Payload) -> None:
    lane.printer.unplug()
    await lane.sell(sale_payload())
    lane.dispatcher.start()
    await wait_until(lambda: _count(lane, DeliveryChanged) >= 1)
    await lane.dispatcher.stop()
    delivery = await lane.delivery()
    assert delivery.state == DeliveryState.QUEUED.value
    assert "does not answer" in (delivery.last_error or "")
    assert lane.printer.jobs == 0


async def test_a_dummy_printer_from_settings_spools_what_it_prints(tmp_path: Path, sale_payload: Payload) -> None:
    spool = tmp_path / "spool.escpos"
    settings = Settings(routing={}, printer=PrinterSettings(enabled=True, kind="dummy", spool=str(spool), paper=58))
    new_database(tmp_path)
    rt = build_runtime(settings, data=tmp_path, secrets={})
    try:
        assert PRINTER_PROVIDER in rt.adapters
        payload = sale_payload()
        event = TriggerEvent("pos-api", "e1", parse_sale(payload), datetime.now(UTC), channels=(Channel.PRINT,))
        result = await rt.checkout.accept(event)
        assert [d.provider for d in result.deliveries] == [PRINTER_PROVIDER]
        rt.start_dispatching()
        await wait_until(lambda: spool.exists() and spool.stat().st_size > 0)
        expected = encode(
            print_receipt(parse_sale(payload), rt.settings.store.profile(), Language.EN, paper=Paper.MM58)
        )
        assert spool.read_bytes() == expected
    finally:
        await rt.close()


def test_printing_is_off_unless_the_settings_turn_it_on() -> None:
    assert not Settings().printer.enabled


def _count(lane: Lane, kind: type) -> int:
    return sum(1 for e in lane.events if isinstance(e, kind))
