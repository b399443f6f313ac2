"""Primary provider down: receipts go through the fallback, nothing doubled, the breaker opens and closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.routing import Routing
from app.providers.sendgrid import SendGridAdapter
from app.rendering.receipts import ReceiptRenderer
from app.sandbox import credentials
from app.sandbox.server import RunningSandbox, start_sandbox
from app.services.breaker import CircuitBreaker, CircuitState
from app.services.bus import EventBus
from app.services.checkout import CheckoutService
from app.services.dispatch import Dispatcher
from app.services.retry import RetryPolicy
from app.storage import audit
from app.storage.database import Database
from app.storage.models import AttemptRow, DeliveryRow
from tests.conftest import wait_until

Payload = Callable[..., dict[str, Any]]


def _primary_and_fallback(
    db: Database, http: httpx.AsyncClient, primary: RunningSandbox, fallback: RunningSandbox
) -> tuple[Routing, dict[str, SendGridAdapter], EventBus, CheckoutService]:
    """E-mail routed to SendGrid at `primary`, then at `fallback`: the routing, the adapters, a bus and checkout."""
    routing = Routing({Channel.EMAIL: ("primary", "fallback")})
    adapters = {
        name: SendGridAdapter(
            http, api_key=credentials.SENDGRID_API_KEY, from_email=credentials.SENDGRID_FROM, base_url=box.url
        )
        for name, box in (("primary", primary), ("fallback", fallback))
    }
    bus = EventBus()
    return routing, adapters, bus, CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, routing.primaries(), bus)


async def test_outage_fails_over_without_doubling_and_the_breaker_recovers(
    db: Database, tmp_path: Path, sale_payload: Payload
) -> None:
    primary, fallback = await start_sandbox(), await start_sandbox()
    http = httpx.AsyncClient()
    breaker = CircuitBreaker(threshold=2, cooldown=0.5)
    routing, adapters, bus, checkout = _primary_and_fallback(db, http, primary, fallback)
    dispatcher = Dispatcher(
        db,
        adapters,
        bus,
        routing=routing,
        breaker=breaker,
        concurrency=4,
        policy=RetryPolicy(base_delay=0.05, max_delay=0.1),
    )
    try:
        primary.app.state.faults.configure(outage_seconds=60)
        for i in range(12):
            payload = sale_payload(f"F{i}", seed=i)
            payload["customer"] = {"email": f"c{i}@example.com", "channels": ["email"]}
            await checkout.accept(TriggerEvent("pos-api", f"e{i}", parse_sale(payload), datetime.now(UTC)))
        dispatcher.start()

        async def all_sent() -> bool:
            states = await db.read(lambda s: s.scalars(select(DeliveryRow.state)).all())
            return set(states) == {"sent"}

        await wait_until(all_sent, timeout=20)
        assert breaker.state("primary") in (CircuitState.OPEN, CircuitState.HALF_OPEN)
        keys = [m.idempotency_key for m in fallback.app.state.store.messages()]
        assert len(keys) == len(set(keys)) == 12
        assert primary.app.state.store.messages() == []
        rows = await db.read(lambda s: s.scalars(select(DeliveryRow)).all())
        assert {r.provider for r in rows} == {"fallback"}
        failovers = await db.read(lambda s: audit.recent(s, limit=100, action="delivery.failover"))
        assert failovers and failovers[0].detail["from"] == "primary" and failovers[0].detail["to"] == "fallback"
        assert dispatcher.stats.provider("primary").fallbacks >= 1

        # the primary comes back: after the cool-down one probe goes through and closes the circuit
        primary.app.state.faults.clear()
        await asyncio.sleep(0.6)
        payload = sale_payload("F-late", seed=99)
        payload["customer"] = {"email": "late@example.com", "channels": ["email"]}
        await checkout.accept(TriggerEvent("pos-api", "e-late", parse_sale(payload), datetime.now(UTC)))
        await wait_until(lambda: len(primary.app.state.store.messages()) == 1, timeout=10)
        # the sandbox records the probe before the dispatcher reads its answer: wait for the settle
        await wait_until(all_sent, timeout=10)
        assert breaker.state("primary") is CircuitState.CLOSED
        assert (await db.read(audit.verify)).ok
    finally:
        await dispatcher.stop()
        await http.aclose()
        await primary.stop()
        await fallback.stop()


async def test_an_attempt_written_at_its_claim_names_the_provider_it_fails_over_to_before_it_leaves(
    db: Database, sale_payload: Payload
) -> None:
    """After a crash, the attempt in doubt is asked about at the provider it names: a claim's attempt, written for
    the primary, names the fallback before the request leaves for the fallback."""
    primary, fallback = await start_sandbox(), await start_sandbox()
    http = httpx.AsyncClient()
    breaker = CircuitBreaker(threshold=1, cooldown=600)
    breaker.record_failure("primary")  # its circuit is open: the delivery goes to the fallback
    routing, adapters, bus, checkout = _primary_and_fallback(db, http, primary, fallback)
    dispatcher = Dispatcher(db, adapters, bus, routing=routing, breaker=breaker, concurrency=1)
    faults = fallback.app.state.faults
    faults.configure(hold=True)
    try:
        payload = sale_payload("F-1", seed=1)
        payload["customer"] = {"email": "c1@example.com", "channels": ["email"]}
        await checkout.accept(TriggerEvent("pos-api", "e1", parse_sale(payload), datetime.now(UTC)))
        dispatcher.start()
        await wait_until(lambda: faults.held == 1, timeout=20)
        [attempt] = await db.read(lambda s: list(s.scalars(select(AttemptRow))))
        assert (attempt.number, attempt.provider, attempt.outcome) == (1, "fallback", "sending")
        faults.configure(hold=False)
        faults.release()
        await wait_until(lambda: db.read(lambda s: s.scalars(select(DeliveryRow.state)).one() == "sent"), timeout=20)
        [attempt] = await db.read(lambda s: list(s.scalars(select(AttemptRow))))
        assert (attempt.provider, attempt.outcome) == ("fallback", "sent")
    finally:
        faults.configure(hold=False)
        faults.release()
        await dispatcher.stop()
        await http.aclose()
        await primary.stop()
        await fallback.stop()
