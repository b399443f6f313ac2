"""Square trigger: signature against the official squareup helper, order fetch over loopback HTTP.

Fixtures `square_*.json` are hand-written from Square's webhook reference (payment.updated, order.updated)
and the RetrieveOrder response shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from square.utils.webhooks_helper import verify_signature
from starlette.applications import Starlette

from app.domain.errors import ConfigurationError, SignatureRejected, TransientProviderError, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.reasons import Reason
from app.sandbox.platforms import square as sandbox
from app.support.asgi_server import RunningServer, start_asgi_server
from app.triggers.base import NotApplicable
from app.triggers.square import SquareTrigger, compute_signature
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
KEY = "sq-signature-key"
URL = "https://kiosk.example.com/webhooks/square"
NOW = datetime(2026, 11, 27, 20, 14, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def delivery(payload: dict[str, Any], *, key: str = KEY, url: str = URL) -> InboundRequest:
    headers, body = sandbox.signed_webhook(str(payload.get("type")), payload, url=url, secret=key)
    return InboundRequest(URL, {k.lower(): v for k, v in headers.items()}, body, NOW)


@pytest.fixture
async def square_api() -> AsyncIterator[RunningServer]:
    order = fixture("square_retrieve_order.json")["order"]
    orders = {order["id"]: order, **{o["id"]: o for o in (sandbox.sample_order(seed) for seed in range(10))}}
    server = await start_asgi_server(Starlette(routes=sandbox.routes(orders)), name="square-sandbox")
    async with server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


def make(client: httpx.AsyncClient, base_url: str, token: str = sandbox.SANDBOX_ACCESS_TOKEN) -> SquareTrigger:
    return SquareTrigger(
        signature_key=KEY,
        store_id="store-0042",
        client=client,
        access_token=token,
        base_url=base_url,
        notification_url=URL,
    )


def test_signature_agrees_with_squareup_and_openssl() -> None:
    # printf 'https://example.com/webhooks/square{"event_id":"e1"}' | openssl dgst -sha256 -hmac sqkey -binary | base64
    expected = "nvo+syB6GPDPqHbnXn6lcTLzPhf9uyE2HFKus1Gti9A="
    assert compute_signature("sqkey", "https://example.com/webhooks/square", b'{"event_id":"e1"}') == expected
    request = delivery(fixture("square_payment_updated.json"))
    assert verify_signature(
        request_body=request.body.decode(),
        signature_header=request.headers["x-square-hmacsha256-signature"],
        signature_key=KEY,
        notification_url=URL,
    )


def test_rejections_agree_with_squareup(client: httpx.AsyncClient) -> None:
    trigger = make(client, "http://unused")
    good = delivery(fixture("square_payment_updated.json"))
    cases = [
        InboundRequest(URL, good.headers, good.body + b" ", NOW),
        delivery(fixture("square_payment_updated.json"), key="other"),
        delivery(fixture("square_payment_updated.json"), url=URL + "?x=1"),
    ]
    for request in cases:
        signature = request.headers["x-square-hmacsha256-signature"]
        assert not verify_signature(
            request_body=request.body.decode(), signature_header=signature, signature_key=KEY, notification_url=URL
        )
        with pytest.raises(SignatureRejected):
            trigger.verify(request)
    with pytest.raises(SignatureRejected):
        trigger.verify(InboundRequest(URL, {}, good.body, NOW))
    trigger.verify(good)


def test_missing_access_token_fails_at_construction(client: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigurationError, match="access_token"):
        SquareTrigger(signature_key=KEY, store_id="s", client=client, access_token="")


@pytest.mark.parametrize("name", ["square_payment_updated.json", "square_order_updated.json"])
async def test_fixture_events_fetch_the_order_over_loopback(
    square_api: RunningServer, client: httpx.AsyncClient, name: str
) -> None:
    trigger = make(client, square_api.url)
    request = delivery(fixture(name))
    trigger.verify(request)
    [event] = await trigger.events(request)
    sale = event.sale
    assert event.source == "square" and event.event_id == fixture(name)["event_id"]
    assert sale.sale_id == "square-CAISENgvlJ6jLWAzERDzjyHVybY" and event.order_id == "CAISENgvlJ6jLWAzERDzjyHVybY"
    assert sale.lane == "S8GWD5R9QB376"
    assert [(i.name, i.quantity, i.unit.value, i.line_total) for i in sale.items] == [
        ("Bananas", Decimal("2.5"), "lb", Decimal("1.48")),
        ("Dish Soap 24 oz", Decimal("2"), "ea", Decimal("7.58")),
        ("Sourdough Bread", Decimal("1"), "ea", Decimal("4.49")),
    ]
    assert sale.items[1].discounts[0].description == "Club price" and sale.items[1].taxable
    assert (sale.taxes[0].rate, sale.taxes[0].amount) == (Decimal("0.0625"), Decimal("0.41"))
    assert sale.total == Decimal("12.96") and sale.inconsistencies() == []
    assert (sale.tenders[0].card_brand, sale.tenders[0].last4, sale.tenders[0].entry_mode) == ("Visa", "1111", "chip")
    assert sale.customer is not None and sale.customer.email == "amelia.earhart@example.com"
    assert "411111" not in sale.model_dump_json()


async def test_wrong_token_and_unknown_order(square_api: RunningServer, client: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigurationError):
        await make(client, square_api.url, token="nope").events(delivery(fixture("square_order_updated.json")))
    event = fixture("square_order_updated.json")
    event["data"]["object"]["order_updated"]["order_id"] = "UNKNOWN"
    with pytest.raises(ValidationFailed, match="does not exist"):
        await make(client, square_api.url).events(delivery(event))


async def test_unreachable_api_is_transient(client: httpx.AsyncClient) -> None:
    trigger = make(client, "http://127.0.0.1:9")
    with pytest.raises(TransientProviderError):
        await trigger.events(delivery(fixture("square_order_updated.json")))


async def test_not_completed_is_not_applicable(client: httpx.AsyncClient) -> None:
    trigger = make(client, "http://unused")
    payment = fixture("square_payment_updated.json")
    payment["data"]["object"]["payment"]["status"] = "APPROVED"
    order = fixture("square_order_updated.json")
    order["data"]["object"]["order_updated"]["state"] = "OPEN"
    for event in (payment, order, {**order, "type": "refund.updated"}):
        with pytest.raises(NotApplicable):
            await trigger.events(delivery(event))


async def test_a_cancelled_order_and_a_completed_refund_are_order_updates(client: httpx.AsyncClient) -> None:
    trigger = make(client, "http://unused")  # neither needs the order fetched
    cancelled = fixture("square_order_updated.json")
    cancelled["data"]["object"]["order_updated"]["state"] = "CANCELED"
    [update] = await trigger.events(delivery(cancelled))
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.order_id) == (OrderStatus.CANCELLED, "CAISENgvlJ6jLWAzERDzjyHVybY")
    [refund] = await trigger.events(delivery(fixture("square_refund_updated.json")))
    assert isinstance(refund, OrderUpdate)
    assert refund.status is OrderStatus.REFUNDED
    assert refund.refund_amount == Decimal("5.00")
    assert refund.reason is Reason.NEUTRAL  # typed by the seller: never shown as written
    assert refund.order_id == "haOM2CH6uyNZtNsLM4Kk4aZr6ZSZY"
    created = fixture("square_refund_updated.json")
    created["type"], created["event_id"] = "refund.created", "another-event"
    [same] = await trigger.events(delivery(created))
    assert isinstance(same, OrderUpdate)
    assert same.update_key == refund.update_key  # one refund, told twice
    created["data"]["object"]["refund"]["status"] = "PENDING"
    with pytest.raises(NotApplicable):
        await trigger.events(delivery(created))


async def test_replay_malformed_and_card_number(square_api: RunningServer, client: httpx.AsyncClient) -> None:
    trigger = make(client, square_api.url)
    request = delivery(fixture("square_order_updated.json"))
    assert (await trigger.events(request))[0].event_id == (await trigger.events(request))[0].event_id
    with pytest.raises(ValidationFailed):
        await trigger.events(InboundRequest(URL, request.headers, b"[1,", NOW))
    event = fixture("square_order_updated.json")
    order = fixture("square_retrieve_order.json")["order"]
    order["line_items"][0]["name"] = "card 4111-1111-1111-1111"
    event["data"]["object"]["order"] = order  # an order carried in the event is used without a fetch
    with pytest.raises(ValidationFailed, match="card number"):
        await trigger.events(delivery(event))


async def test_sandbox_sample_events_round_trip(square_api: RunningServer, client: httpx.AsyncClient) -> None:
    trigger = make(client, square_api.url)
    for seed in range(10):
        for kind in ("payment.updated", "order.updated"):
            request = delivery(sandbox.sample_event(kind, seed))
            trigger.verify(request)
            [event] = await trigger.events(request)
            assert event.sale.inconsistencies() == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
ORDER = st.dictionaries(
    st.sampled_from(["id", "line_items", "taxes", "tenders", "total_money", "discounts", "fulfillments", "created_at"]),
    JSON,
).map(lambda d: {"line_items": [{"name": "x"}], **d})
EVENT = st.fixed_dictionaries(
    {
        "event_id": JSON,
        "type": st.sampled_from(["payment.updated", "order.updated"]),
        "data": st.fixed_dictionaries(
            {
                "object": st.fixed_dictionaries(
                    {
                        "order": ORDER,
                        "order_updated": st.just({"state": "COMPLETED", "order_id": "O1"}),
                        "payment": st.dictionaries(st.sampled_from(["status", "order_id"]), JSON),
                    }
                )
            }
        ),
    }
)


@settings(derandomize=True, max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=200) | EVENT.map(lambda d: json.dumps(d).encode()), sign=st.booleans(), sig=st.text())
def test_random_input_raises_only_trigger_errors(body: bytes, sign: bool, sig: str) -> None:
    async def run() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(404, json={"errors": []}))
        async with httpx.AsyncClient(transport=transport) as http:
            trigger = make(http, "http://square.test")
            signature = compute_signature(KEY, URL, body) if sign else sig
            request = InboundRequest(URL, {"x-square-hmacsha256-signature": signature}, body, NOW)
            trigger.verify(request)
            await trigger.events(request)

    with contextlib.suppress(SignatureRejected, ValidationFailed, NotApplicable):
        asyncio.run(run())
