"""The local API over real loopback HTTP, as a POS would use it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.main import Runtime
from app.storage.models import SaleRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import bearer, drained, wait_until

Payload = Callable[..., dict[str, Any]]


@pytest.fixture
async def api(runtime: Runtime, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = runtime.settings
    runtime.settings = settings.model_copy(
        update={"api": settings.api.model_copy(update={"max_body_bytes": 64 * 1024})}
    )
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(api_token)) as client:
        yield client
    await server.stop()


async def sale_count(runtime: Runtime) -> int:
    return int(await runtime.db.read(lambda s: s.scalar(select(func.count()).select_from(SaleRow))))


async def test_post_a_sale_then_follow_its_receipt(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    payload = sale_payload(with_customer=True)
    payload["customer"] = {"email": "ana@example.com", "channels": ["email"]}
    response = await api.post("/v1/sales", json=payload)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["duplicate"] is False and body["deliveries"][0]["recipient"] == "a***@example.com"
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    receipt = (await api.get(f"/v1/receipts/{body['receipt_id']}")).json()
    assert receipt["sale_id"] == payload["sale_id"] and receipt["total"] == payload["total"]
    [delivery] = receipt["deliveries"]
    assert delivery["state"] == "sent" and delivery["attempts"][0]["outcome"] == "sent"
    assert "ana@example.com" not in json.dumps(receipt)


async def test_a_retried_post_is_recognised(api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload) -> None:
    first = await api.post("/v1/sales", json=sale_payload(), headers={"Idempotency-Key": "k-1"})
    second = await api.post("/v1/sales", json=sale_payload(), headers={"Idempotency-Key": "k-1"})
    assert second.status_code == 202 and second.json()["duplicate"] is True
    assert first.json()["receipt_id"] == second.json()["receipt_id"]
    assert await sale_count(runtime) == 1


async def test_inconsistent_totals_are_a_422_naming_the_field(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    payload = sale_payload()
    payload["total"] = "0.01"
    response = await api.post("/v1/sales", json=payload)
    assert response.status_code == 422
    assert ["body", "total"] in [d["loc"] for d in response.json()["detail"]]
    assert await sale_count(runtime) == 0


async def test_card_numbers_are_refused_and_not_stored(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    payload = sale_payload()
    payload["tenders"][0]["auth_code"] = "4242424242424242"
    response = await api.post("/v1/sales", json=payload)
    assert response.status_code == 422 and "4242424242424242" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "tenders", 0, "auth_code"]
    assert await sale_count(runtime) == 0


async def test_a_conflicting_sale_is_409(api: httpx.AsyncClient, sale_payload: Payload) -> None:
    assert (await api.post("/v1/sales", json=sale_payload())).status_code == 202
    response = await api.post("/v1/sales", json=sale_payload(seed=42))
    assert response.status_code == 409 and "different content" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 422), (b"[]", 422), (b'{"sale_id": "x"}', 422), (b"x" * (65 * 1024), 413)],
)
async def test_bad_bodies_get_clear_errors_and_change_nothing(
    api: httpx.AsyncClient, runtime: Runtime, body: bytes, status: int
) -> None:
    response = await api.post("/v1/sales", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["detail"][0]["msg"]
    assert await sale_count(runtime) == 0


async def test_unknown_receipt_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/receipts/nope")
    assert response.status_code == 404 and response.json() == {"error": "There is no receipt nope."}


async def test_health_reports_the_queue(api: httpx.AsyncClient, sale_payload: Payload) -> None:
    payload = sale_payload(with_customer=True)
    payload["customer"] = {"phone": "+12175550142", "channels": ["sms"]}
    await api.post("/v1/sales", json=payload)
    health = (await api.get("/v1/health")).json()
    assert health["queue_depth"] == 1 and health["oldest_pending_age_s"] >= 0
    assert {p["provider"] for p in health["providers"]} == {"twilio", "sendgrid", "printer"}  # the demo dummy printer
    assert health["dispatcher_running"] is False and health["ok"] is False


async def test_openapi_publishes_the_sale_contract(api: httpx.AsyncClient, tmp_path: Path) -> None:
    spec = (await api.get("/openapi.json")).json()
    body = spec["paths"]["/v1/sales"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Sale"}
    assert "LineItem" in spec["components"]["schemas"] and "Tender" in spec["components"]["schemas"]
