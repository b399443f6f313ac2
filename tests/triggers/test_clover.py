"""Clover trigger: handshake, X-Clover-Auth, order fetch over loopback HTTP, mapping to a Sale."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from app.domain.errors import PermanentProviderError, SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.intake import InvalidSale
from app.sandbox.platforms import clover as sandbox
from app.support.asgi_server import start_asgi_server
from app.triggers.base import NotApplicable
from app.triggers.clover import CloverTrigger, CloverVerificationCode
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
URL = "https://hub.example.com/webhooks/clover"
NOW = datetime(2024, 12, 2, 16, 0, 31, tzinfo=UTC)
ORDER_ID = "H8XQ3W2K9D7MA"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(URL, {k.lower(): v for k, v in headers.items()}, body, NOW)


def trigger(client: httpx.AsyncClient, base_url: str = "http://clover.test", **kw: Any) -> CloverTrigger:
    args: dict[str, Any] = {
        "auth_code": sandbox.SANDBOX_AUTH_CODE,
        "store_id": "store-0042",
        "client": client,
        "api_token": sandbox.SANDBOX_TOKEN,
        "merchant_id": sandbox.SANDBOX_MERCHANT_ID,
        "base_url": base_url,
    }
    args.update(kw)
    return CloverTrigger(**args)


def asgi_client(orders: dict[str, dict[str, Any]]) -> httpx.AsyncClient:
    app = Starlette(routes=sandbox.routes(orders))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[str, dict[str, dict[str, Any]]]]:
    orders: dict[str, dict[str, Any]] = {}
    server = await start_asgi_server(Starlette(routes=sandbox.routes(orders)), name="clover-sandbox")
    async with server:
        yield server.url, orders


async def test_paid_order_is_fetched_over_loopback_and_maps_to_a_consistent_sale(
    loopback: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    base_url, orders = loopback
    orders[ORDER_ID] = fixture("clover_order_paid.json")
    headers, body = sandbox.signed_webhook(fixture("clover_webhook_order_update.json"))
    async with httpx.AsyncClient(timeout=5) as client:
        clover = trigger(client, base_url)
        clover.verify(request(headers, body))
        events = await clover.events(request(headers, body))
    assert len(events) == 1  # the P: payment object asks for nothing
    event = events[0]
    sale = event.sale
    assert event.source == "clover"
    assert event.event_id == f"O:{ORDER_ID}:UPDATE:1733155230123"
    assert event.order_id == ORDER_ID
    assert sale.sale_id == f"clover-{ORDER_ID}"
    assert sale.lane == "8c3a5d8e.2b1f.4b1e.9e5a.1d2f3a4b5c6d"
    assert sale.occurred_at == datetime(2024, 12, 2, 16, 0, tzinfo=UTC)
    bananas, eggs, towels, yogurt = sale.items
    assert (bananas.quantity, bananas.unit.value, bananas.unit_price, bananas.line_total) == (
        Decimal("2.37"), "lb", Decimal("0.59"), Decimal("1.40"),
    )  # fmt: skip
    assert eggs.discount_total == Decimal("0.50")
    assert towels.taxable and not eggs.taxable
    assert (yogurt.quantity, yogurt.unit.value, yogurt.line_total) == (Decimal(3), "ea", Decimal("3.57"))
    assert sale.discounts[0].amount == Decimal("1.95")  # 10% of 19.45, half up
    assert (sale.subtotal, sale.total_savings, sale.total) == (Decimal("17.50"), Decimal("2.45"), Decimal("18.25"))
    assert sale.taxes[0].amount == Decimal("0.75") and sale.taxes[0].rate == Decimal("0.0625")
    assert sale.tenders[0].type.value == "cash" and sale.tenders[0].change_due == Decimal("1.75")
    assert sale.customer is not None and sale.customer.email == "maria.garcia@example.com"
    assert sale.inconsistencies() == []


async def test_card_payment_keeps_brand_and_last_four() -> None:
    async with asgi_client({ORDER_ID: fixture("clover_order_paid_card.json")}) as client:
        headers, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
        (event,) = await trigger(client).events(request(headers, body))
    tender = event.sale.tenders[0]
    assert (tender.type.value, tender.card_brand, tender.last4) == ("card", "Mastercard", "4444")


async def test_wrong_api_token_is_refused_by_the_sandbox_like_clover() -> None:
    async with asgi_client({ORDER_ID: fixture("clover_order_paid.json")}) as client:
        headers, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
        with pytest.raises(PermanentProviderError) as info:
            await trigger(client, api_token="not-the-token").events(request(headers, body))
    assert info.value.status_code == 401


async def test_verification_handshake_surfaces_the_code_and_is_never_a_sale(caplog: pytest.LogCaptureFixture) -> None:
    code = fixture("clover_verification.json")["verificationCode"]
    headers, body = sandbox.verification_webhook(code)
    async with httpx.AsyncClient() as client:
        clover = trigger(client, auth_code=None)  # before setup there is no auth code yet
        clover.verify(request(headers, body))
        with caplog.at_level(logging.INFO), pytest.raises(CloverVerificationCode) as info:
            await clover.events(request(headers, body))
    assert isinstance(info.value, NotApplicable)
    assert info.value.verification_code == code
    assert code in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Clover-Auth": "wrong"}, {"X-Clover-Auth": sandbox.SANDBOX_AUTH_CODE + "x"}, {"X-Clover-Auth": ""}],
)
async def test_missing_or_wrong_auth_code_is_rejected(headers: dict[str, str]) -> None:
    _, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
    async with httpx.AsyncClient() as client:
        with pytest.raises(SignatureRejected):
            trigger(client).verify(request(headers, body))


async def test_without_a_configured_auth_code_only_the_handshake_passes() -> None:
    headers, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
    async with httpx.AsyncClient() as client:
        with pytest.raises(SignatureRejected):
            trigger(client, auth_code=None).verify(request(headers, body))


async def test_tampered_notification_cannot_forge_a_sale() -> None:
    """Clover signs nothing but the auth code; the sale's content always comes from Clover's API."""
    payload = sandbox.sample_event("FORGED0000001")
    headers, body = sandbox.signed_webhook(payload)
    async with asgi_client({ORDER_ID: fixture("clover_order_paid.json")}) as client:
        clover = trigger(client)
        clover.verify(request(headers, body))
        with pytest.raises(NotApplicable):
            await clover.events(request(headers, body))


async def test_replayed_notification_yields_the_same_event_id() -> None:
    headers, body = sandbox.signed_webhook(fixture("clover_webhook_order_update.json"))
    async with asgi_client({ORDER_ID: fixture("clover_order_paid.json")}) as client:
        clover = trigger(client)
        first = await clover.events(request(headers, body))
        again = await clover.events(request(headers, body))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert first[0].sale == again[0].sale


@pytest.mark.parametrize(
    ("notification", "orders"),
    [
        (sandbox.sample_event(ORDER_ID), {ORDER_ID: fixture("clover_order_open.json")}),  # not paid
        (sandbox.sample_event(ORDER_ID, kind="DELETE"), {}),
        (sandbox.sample_event(ORDER_ID, merchant_id="OTHERMERCHANT"), {}),
        (
            {
                "appId": "A",
                "merchants": {sandbox.SANDBOX_MERCHANT_ID: [{"objectId": "P:X1", "type": "CREATE", "ts": 1}]},
            },
            {},
        ),
        ({"appId": "A", "merchants": {}}, {}),
    ],
)
async def test_events_that_ask_for_no_receipt(notification: dict[str, Any], orders: dict[str, Any]) -> None:
    headers, body = sandbox.signed_webhook(notification)
    async with asgi_client(orders) as client:
        with pytest.raises(NotApplicable):
            await trigger(client).events(request(headers, body))


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"merchants": []}', b'{"merchants": {"SBXMERCHANT01": [1]}}'])
async def test_malformed_body_is_a_validation_failure(body: bytes) -> None:
    async with asgi_client({}) as client:
        with pytest.raises(ValidationFailed):
            await trigger(client).events(request({"X-Clover-Auth": sandbox.SANDBOX_AUTH_CODE}, body))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o["payments"]["elements"][0]["cardTransaction"].update(last4="5555555555554444"),
        lambda o: o["lineItems"]["elements"][0].update(name="Bananas 4111 1111 1111 1111"),
    ],
)
async def test_a_card_number_in_the_order_is_rejected(mutate: Any) -> None:
    order = fixture("clover_order_paid_card.json")
    mutate(order)
    headers, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
    async with asgi_client({ORDER_ID: order}) as client:
        with pytest.raises(InvalidSale) as info:
            await trigger(client).events(request(headers, body))
    assert "5555555555554444" not in str(info.value) and "4111" not in str(info.value)


async def test_an_order_whose_parts_do_not_add_up_is_rejected() -> None:
    order = fixture("clover_order_paid.json")
    order["total"] += 1
    headers, body = sandbox.signed_webhook(sandbox.sample_event(ORDER_ID))
    async with asgi_client({ORDER_ID: order}) as client:
        with pytest.raises(InvalidSale, match="total"):
            await trigger(client).events(request(headers, body))


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), paid=st.booleans())
async def test_sandbox_orders_map_to_consistent_sales(seed: int, paid: bool) -> None:
    order = sandbox.sample_order(random.Random(seed), order_id="SEED00001", paid=paid)
    headers, body = sandbox.signed_webhook(sandbox.sample_event("SEED00001"))
    async with asgi_client({"SEED00001": order}) as client:
        if not paid:
            with pytest.raises(NotApplicable):
                await trigger(client).events(request(headers, body))
            return
        (event,) = await trigger(client).events(request(headers, body))
    assert event.sale.total == Decimal(order["total"]) / 100
    assert event.sale.inconsistencies() == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, max_examples=examples(150), deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda oid, kind, ts: json.dumps(
                {"merchants": {sandbox.SANDBOX_MERCHANT_ID: [{"objectId": oid, "type": kind, "ts": ts}]}}
            ).encode(),
            st.sampled_from(["O:" + ORDER_ID, "O:", "O:../x", "P:1"]) | st.text(max_size=10),
            st.text(max_size=8),
            st.integers() | st.text(max_size=5),
        ),
    ),
    auth=st.sampled_from([None, sandbox.SANDBOX_AUTH_CODE, "nope"]) | st.text(max_size=10),
    order=st.sampled_from([fixture("clover_order_paid.json")]) | json_values,
)
async def test_random_requests_only_raise_the_documented_errors(body: bytes, auth: str | None, order: Any) -> None:
    headers = {} if auth is None else {"X-Clover-Auth": auth}
    transport = httpx.MockTransport(lambda req: httpx.Response(200, json=order))
    async with httpx.AsyncClient(transport=transport) as client:
        clover = trigger(client)
        try:
            clover.verify(request(headers, body))
            await clover.events(request(headers, body))
        except (SignatureRejected, ValidationFailed, NotApplicable):
            pass
