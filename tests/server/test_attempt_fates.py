"""Every attempt's fate over the API: outcome, times, how a doubt was settled, by whom, possible duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.main import Runtime
from app.server.schemas import HealthOut
from app.services.health import HealthService
from app.support.asgi_server import start_asgi_server
from tests.attempt_fates import AT, MANAGER, write_fates
from tests.conftest import bearer


@pytest.fixture
async def api(runtime: Runtime, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(api_token)) as client:
        yield client
    await server.stop()


async def test_a_receipt_shows_each_attempt_and_how_its_doubt_was_settled(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    fates = await write_fates(runtime, sale_payload)
    body = (await api.get(f"/v1/receipts/{fates.receipt_id}")).json()
    by_id = {d["id"]: d for d in body["deliveries"]}
    email = by_id[fates.email_id]["attempts"]
    assert [a["number"] for a in email] == [1, 2, 3]
    assert email[0]["outcome"] == "transient" and email[0]["status_code"] == 503 and email[0]["settled_by"] is None
    assert email[1]["outcome"] == "in_doubt" and email[1]["finished_at"] is None
    assert email[1]["settled_by"] == "resent_possible_duplicate" and email[1]["settled_at"].startswith(
        "2026-12-04T14:35"
    )
    assert email[2]["outcome"] == "sent" and email[2]["possible_duplicate"] is True and email[2]["finished_at"]
    assert [a["possible_duplicate"] for a in email] == [False, False, True]
    [text] = by_id[fates.text_id]["attempts"]
    assert text["outcome"] == "in_doubt" and text["settled_by"] == "lookup_found" and text["settled_actor"] is None

    dropped = (await api.get(f"/v1/receipts/{fates.dropped_receipt_id}")).json()
    [attempt] = next(d for d in dropped["deliveries"] if d["id"] == fates.dropped_id)["attempts"]
    assert attempt["settled_by"] == "dropped" and attempt["settled_actor"] == MANAGER


async def test_held_messages_warn_on_health_and_leave_it_ok(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    fates = await write_fates(runtime, sale_payload)
    runtime.start_dispatching()
    body = (await api.get("/v1/health")).json()
    assert body["ok"] is True and body["alarms"] == [] and body["held"] == 1
    assert body["warnings"] == [
        "1 message is held because its customer may already have it: a manager sends or drops it "
        "on the manager's Health page or with `receiptdesk queue held`."
    ]
    await runtime.receipts.drop_held(fates.held_id, actor="Ben Ortiz", reason="the customer showed it at the till")
    after = (await api.get("/v1/health")).json()
    assert after["held"] == 0 and after["warnings"] == [] and after["ok"] is True


async def test_possible_duplicates_are_counted_per_provider_since_midnight(
    runtime: Runtime, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    await write_fates(runtime, sale_payload)

    def health_at(now: datetime) -> HealthService:
        return HealthService(runtime.receipts, None, (), clock=lambda: now)

    same_day = (await health_at(AT + timedelta(minutes=4)).check()).possible_duplicates_today
    assert same_day == {"sendgrid": 1}
    assert HealthOut.of(await health_at(AT + timedelta(minutes=4)).check()).possible_duplicates_today == same_day
    next_week = await health_at(AT + timedelta(days=7)).check()
    assert next_week.possible_duplicates_today == {}
