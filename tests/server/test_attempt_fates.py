"""Every attempt's fate over the API: outcome, times, how a doubt was settled, by whom, possible duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.main import Runtime
from app.support.asgi_server import start_asgi_server
from tests.attempt_fates import MANAGER, write_fates
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
