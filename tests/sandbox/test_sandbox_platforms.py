"""The sandbox's commerce platform APIs over loopback: store, auth, filters and pagination rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.sandbox.platforms import shopify, square, stripe
from app.sandbox.server import RunningSandbox


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=5.0) as http:
        yield http


SHOPIFY = {"X-Shopify-Access-Token": shopify.SANDBOX_ACCESS_TOKEN}
ORDERS = f"/admin/api/{shopify.API_VERSION}/orders.json"


async def test_recorded_orders_are_listed_and_paged(client: httpx.AsyncClient) -> None:
    for seed in (1, 2, 3):
        answer = await client.post("/_sandbox/platforms/shopify/orders", json=shopify.sample_event("orders/paid", seed))
        assert answer.status_code == 201 and answer.json()["updated_at"]
    first = await client.get(ORDERS, params={"status": "any", "limit": 2}, headers=SHOPIFY)
    assert first.status_code == 200 and len(first.json()["orders"]) == 2
    next_url = first.links["next"]["url"]
    assert "page_info=" in next_url
    second = await client.get(next_url, headers=SHOPIFY)
    assert len(second.json()["orders"]) == 1 and "link" not in second.headers
    mixed = await client.get(next_url + "&status=any", headers=SHOPIFY)
    assert mixed.status_code == 400  # page_info takes no other filter
    assert (await client.get(ORDERS)).status_code == 401


async def test_square_search_and_retrieve_need_the_token(client: httpx.AsyncClient) -> None:
    order = square.sample_order(4)
    await client.post("/_sandbox/platforms/square/orders", json=order)
    auth = {"Authorization": f"Bearer {square.SANDBOX_ACCESS_TOKEN}"}
    found = await client.post("/v2/orders/search", json={"location_ids": [square.SANDBOX_LOCATION]}, headers=auth)
    assert [o["id"] for o in found.json()["orders"]] == [order["id"]] and "cursor" not in found.json()
    assert (await client.get(f"/v2/orders/{order['id']}", headers=auth)).json()["order"]["id"] == order["id"]
    assert (await client.post("/v2/orders/search", json={"location_ids": ["L"]})).status_code == 401
    empty = await client.post("/v2/orders/search", json={"location_ids": ["LOTHER"]}, headers=auth)
    assert empty.json() == {}


async def test_stripe_events_accept_basic_or_bearer_keys(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/platforms/stripe/orders", json=stripe.sample_event("payment_intent.succeeded", 2))
    basic = await client.get("/v1/events", auth=(stripe.SANDBOX_SECRET_KEY, ""))
    bearer = await client.get("/v1/events", headers={"Authorization": f"Bearer {stripe.SANDBOX_SECRET_KEY}"})
    assert basic.json()["data"] == bearer.json()["data"] and basic.json()["has_more"] is False
    assert (
        await client.get("/v1/events", params={"starting_after": "evt_nope"}, auth=(stripe.SANDBOX_SECRET_KEY, ""))
    ).status_code == 400
    assert (await client.get("/v1/events", auth=("sk_wrong", ""))).status_code == 401


async def test_an_outage_answers_every_platform_api(client: httpx.AsyncClient) -> None:
    assert (await client.put("/_sandbox/platforms/outage", json={"status": 502})).status_code == 200
    assert (await client.get("/v1/events", auth=(stripe.SANDBOX_SECRET_KEY, ""))).status_code == 502
    assert (await client.delete("/_sandbox/platforms/outage")).status_code == 204
    assert (await client.get("/v1/events", auth=(stripe.SANDBOX_SECRET_KEY, ""))).status_code == 200
