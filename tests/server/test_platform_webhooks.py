"""Platform webhooks through the real local API: verified, mapped, checked out once; forgeries audited."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.main import Runtime, build_runtime
from app.sandbox.platforms import shopify as shopify_sandbox
from app.sandbox.platforms import stripe as stripe_sandbox
from app.sandbox.platforms import zapier as zapier_sandbox
from app.sandbox.server import RunningSandbox
from app.storage import audit
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, new_database

SECRETS = {
    "shopify": {"client_secret": "shopify-test-secret"},
    "stripe": {"signing_secret": "whsec_test_secret"},
    "zapier": {"shared_secret": zapier_sandbox.SANDBOX_SHARED_SECRET},
}


@pytest.fixture
async def api(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = sandbox_settings(Settings(), sandbox.url)
    store = settings.store.model_copy(update={"id": zapier_sandbox.SANDBOX_STORE_ID})
    settings = settings.model_copy(update={"platforms": {name: {} for name in SECRETS}, "store": store})
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets={**sandbox_secrets(sandbox.url), **SECRETS})
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=await authorised(runtime)) as client:
        yield runtime, client
    await server.stop()
    await runtime.close()


async def test_a_shopify_order_paid_becomes_one_receipt(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = api
    payload = shopify_sandbox.sample_event("orders/paid", 7)
    headers, body = shopify_sandbox.signed_webhook("orders/paid", payload, url="", secret="shopify-test-secret")
    first = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post("/webhooks/shopify", content=body, headers=headers)  # Shopify retries
    assert again.json()["receipts"][0]["duplicate"] is True
    assert await runtime.receipts.count() == 1


async def test_stripe_and_zapier_sales(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = api
    intent = stripe_sandbox.sample_event("payment_intent.succeeded", 3)
    headers, body = stripe_sandbox.signed_webhook(
        "payment_intent.succeeded", intent, url="", secret="whsec_test_secret"
    )
    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 202
    zap = zapier_sandbox.sample_event(random.Random(5), event_id="zap-1", sale_id="Z-1")
    headers, body = zapier_sandbox.signed_webhook(zap)
    assert (await client.post("/webhooks/zapier", content=body, headers=headers)).status_code == 202
    assert await runtime.receipts.count() == 2


async def test_a_forged_webhook_is_401_audited_and_counted(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = api
    payload = shopify_sandbox.sample_event("orders/paid", 8)
    headers, body = shopify_sandbox.signed_webhook("orders/paid", payload, url="", secret="not-the-secret")
    response = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 401 and response.content == b""
    assert await runtime.receipts.count() == 0
    [entry] = await runtime.db.read(lambda s: audit.recent(s, action="webhook.rejected"))
    assert entry.actor == "shopify" and entry.detail["reason"]
    health = (await client.get("/v1/health")).json()
    assert health["rejected_webhooks"] == {"shopify": 1}


async def test_malformed_or_unknown(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = api
    headers, body = zapier_sandbox.signed_webhook({"event_id": "x"})
    assert (await client.post("/webhooks/zapier", content=body, headers=headers)).status_code == 422
    assert (await client.post("/webhooks/toast", content=b"{}")).status_code == 404
    assert await runtime.receipts.count() == 0
