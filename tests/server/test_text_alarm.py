"""Texts to new numbers above the alarm's threshold in an hour: the health is not ok and says why.

One test drives it end to end (a POS posting sales with new numbers over loopback HTTP, the
dispatcher sending them to the sandbox, `/v1/health` answering 503); the others read the health
services over a real SQLite file with a clock they move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.main import Runtime
from app.server.schemas import HealthOut
from app.services.bus import EventBus
from app.services.health import HealthService
from app.services.receipts import ReceiptService
from app.storage import outbox
from app.storage.database import Database, UnitOfWork
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import bearer, drained, wait_until

Payload = Callable[..., dict[str, Any]]
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ROUTING = {Channel.SMS: "twilio", Channel.WHATSAPP: "twilio_whatsapp"}


def number(index: int) -> str:
    return f"+1217555{index:04d}"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def text(recipient: str, at: datetime, channel: Channel = Channel.SMS) -> Callable[[UnitOfWork], None]:
    """A text queued at `at` and delivered since (nothing waits in the queue to make the health not ok)."""

    def job(session: UnitOfWork) -> None:
        queued = outbox.new_delivery(
            session, receipt_id=None, channel=channel, provider=ROUTING[channel], recipient=recipient, now=at
        )
        delivered = DeliveryState.DELIVERED.value
        session.execute(update(DeliveryRow).where(DeliveryRow.id == queued.id).values(state=delivered))

    return job


@pytest.fixture
def clock() -> Clock:
    return Clock()


def health_of(db: Database, clock: Clock, limits: TextLimits = DEFAULT_LIMITS) -> HealthService:
    receipts = ReceiptService(db, ROUTING, EventBus(), clock=clock, texts=limits)
    return HealthService(receipts, None, (), clock=clock)


async def test_sixty_one_new_numbers_in_an_hour_raise_the_alarm_and_an_hour_later_it_is_gone(
    db: Database, clock: Clock
) -> None:
    health = health_of(db, clock)
    await db.write(text(number(9000), START - timedelta(hours=2)))  # an old customer, texted again now
    await db.write(text(number(9000), START))
    for index in range(60):
        await db.write(text(number(index), START - timedelta(minutes=index % 59), Channel.SMS))
    quiet = await health.recorded()
    assert quiet.ok and quiet.alarms == ()
    assert quiet.new_number_texts is not None and quiet.new_number_texts.count == 60

    await db.write(text(number(60), START, Channel.WHATSAPP))
    alarmed = await health.recorded()
    sentence = "61 texts to new numbers in the last hour (alarm at 60): check the API tokens and the POS."
    assert not alarmed.ok and alarmed.alarms == (sentence,)
    body = HealthOut.of(alarmed).model_dump(mode="json")
    assert body["alarms"] == [sentence] and body["texts_to_new_numbers_last_hour"] == 61 and body["ok"] is False

    clock.now = START + timedelta(hours=1)
    later = await health.recorded()
    assert later.ok and later.alarms == () and later.new_number_texts is not None
    assert later.new_number_texts.count == 0


async def test_the_alarms_threshold_comes_from_the_limits(db: Database, clock: Clock) -> None:
    for index in range(3):
        await db.write(text(number(index), START))
    assert (await health_of(db, clock, TextLimits(new_number_alarm_per_hour=3)).recorded()).ok
    low = await health_of(db, clock, TextLimits(new_number_alarm_per_hour=2)).recorded()
    assert low.alarms == ("3 texts to new numbers in the last hour (alarm at 2): check the API tokens and the POS.",)


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[str]:
    running = await start_asgi_server(runtime.local_api(), name="api")
    yield running.url
    await running.stop()


async def test_a_pos_texting_sixty_one_new_numbers_turns_v1_health_503_with_the_alarm(
    runtime: Runtime, server: str, api_token: str, sale_payload: Payload
) -> None:
    runtime.start_dispatching()
    async with httpx.AsyncClient(base_url=server, headers=bearer(api_token)) as api:
        for index in range(61):
            payload = sale_payload(f"S-{index}", seed=index)
            payload["customer"] = {"name": "A Customer", "phone": number(index), "channels": ["sms"]}
            response = await api.post("/v1/sales", json=payload)
            assert response.status_code == 202 and response.json()["warnings"] == [], response.text
            if index == 59:
                await wait_until(lambda: drained(runtime))
                assert (await api.get("/v1/health")).status_code == 200
        await wait_until(lambda: drained(runtime))
        answer = await api.get("/v1/health")
        assert answer.status_code == 503
        body = answer.json()
        assert body["ok"] is False and body["dispatcher_running"] is True
        assert body["texts_to_new_numbers_last_hour"] == 61
        assert body["alarms"] == [
            "61 texts to new numbers in the last hour (alarm at 60): check the API tokens and the POS."
        ]
    async with httpx.AsyncClient(base_url=server) as anonymous:  # a monitor without a token: only ok
        bare = await anonymous.get("/v1/health")
        assert bare.status_code == 503 and bare.json() == {"ok": False}
