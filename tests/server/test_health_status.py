"""`/v1/health` answers 503 when not ok, with the same body; the health a tool reads from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.domain.clock import utcnow
from app.main import Runtime
from app.services.health import STALLED_AFTER_S
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import bearer, drained, wait_until

Payload = Callable[..., dict[str, Any]]


@pytest.fixture
async def api(runtime: Runtime, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(api_token)) as client:
        yield client
    await server.stop()


async def test_not_ok_is_503_with_the_same_body_and_ok_is_200(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    await api.post("/v1/sales", json=sale_payload(with_customer=True))

    stopped = await api.get("/v1/health")  # nothing dispatches yet: not ok
    assert stopped.status_code == 503
    body = stopped.json()
    assert body["ok"] is False and body["dispatcher_running"] is False and body["queue_depth"] >= 1

    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    running = await api.get("/v1/health")
    assert running.status_code == 200
    assert running.json()["ok"] is True
    assert set(running.json()) == set(body)  # one shape, whatever the status


async def test_the_published_contract_names_the_503(api: httpx.AsyncClient) -> None:
    operation = (await api.get("/openapi.json")).json()["paths"]["/v1/health"]["get"]
    assert {"200", "503"} <= set(operation["responses"])


async def test_the_recorded_health_is_ok_until_a_delivery_waits_past_its_due_time(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    await api.post("/v1/sales", json=sale_payload(with_customer=True))  # queued, due now, nobody sending

    fresh = await runtime.health.recorded()
    assert fresh.ok and fresh.due_now >= 1 and fresh.dispatcher_running is False
    assert fresh.oldest_due_age_s is not None and fresh.oldest_due_age_s < STALLED_AFTER_S

    long_ago = utcnow() - timedelta(seconds=STALLED_AFTER_S + 60)
    await runtime.db.write(lambda s: s.execute(update(DeliveryRow).values(next_attempt_at=long_ago)))
    stalled = await runtime.health.recorded()
    assert not stalled.ok
    assert stalled.oldest_due_age_s is not None and stalled.oldest_due_age_s > STALLED_AFTER_S
    # The live health of a process that does not dispatch was never ok; the recorded one says why not now.
    assert (await runtime.health.check()).ok is False
