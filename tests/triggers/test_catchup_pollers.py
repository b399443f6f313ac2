"""The catch-up pollers against the sandbox platforms over loopback: filters, pagination, errors."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.domain.errors import ConfigurationError, TransientProviderError
from app.domain.events import TriggerEvent
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.sandbox.platforms import clover as sb_clover
from app.sandbox.platforms import shopify as sb_shopify
from app.sandbox.platforms import square as sb_square
from app.sandbox.platforms import stripe as sb_stripe
from app.sandbox.platforms.orders import PlatformStore
from app.sandbox.server import RunningSandbox
from app.triggers.catchup.clover import CloverPoller
from app.triggers.catchup.shopify import ShopifyPoller, next_link
from app.triggers.catchup.square import SquarePoller
from app.triggers.catchup.stripe import StripePoller
from app.triggers.clover import CloverTrigger
from app.triggers.shopify import ShopifyTrigger
from app.triggers.square import SquareTrigger
from app.triggers.stripe import StripeTrigger

STORE = "store-0042"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def platforms(sandbox: RunningSandbox) -> PlatformStore:
    store: PlatformStore = sandbox.app.state.platforms  # type: ignore[attr-defined]
    return store


def shopify_poller(http: httpx.AsyncClient, url: str, *, token: str = sb_shopify.SANDBOX_ACCESS_TOKEN) -> ShopifyPoller:
    mapper = ShopifyTrigger(client_secret="unused", store_id=STORE)
    return ShopifyPoller(client=http, mapper=mapper, access_token=token, base_url=url, page_size=2)


def square_poller(http: httpx.AsyncClient, url: str) -> SquarePoller:
    token = sb_square.SANDBOX_ACCESS_TOKEN
    mapper = SquareTrigger(signature_key="unused", store_id=STORE, client=http, access_token=token, base_url=url)
    return SquarePoller(
        client=http,
        mapper=mapper,
        access_token=token,
        location_id=sb_square.SANDBOX_LOCATION,
        base_url=url,
        page_size=2,
    )


def stripe_poller(http: httpx.AsyncClient, url: str) -> StripePoller:
    mapper = StripeTrigger(signing_secret="unused", store_id=STORE)
    return StripePoller(client=http, mapper=mapper, secret_key=sb_stripe.SANDBOX_SECRET_KEY, base_url=url, page_size=2)


def clover_poller(http: httpx.AsyncClient, url: str, *, token: str = sb_clover.SANDBOX_TOKEN) -> CloverPoller:
    merchant = sb_clover.SANDBOX_MERCHANT_ID
    mapper = CloverTrigger(
        auth_code="unused", store_id=STORE, client=http, api_token=token, merchant_id=merchant, base_url=url
    )
    return CloverPoller(client=http, mapper=mapper, api_token=token, merchant_id=merchant, base_url=url, page_size=2)


def recently() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


async def test_shopify_follows_link_pages_and_keeps_only_paid_orders(
    sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    store = platforms(sandbox)
    for seed in range(1, 6):
        store.record("shopify", sb_shopify.sample_event("orders/paid", seed))
    unpaid = dict(sb_shopify.sample_event("orders/paid", 9), financial_status="pending")
    store.record("shopify", unpaid)
    result = await shopify_poller(http, sandbox.url).poll(recently(), now=datetime.now(UTC))
    assert result.pages == 3 and result.listed == 6 and result.skipped == 1
    assert sorted(e.event_id for e in result.events) == sorted(f"poll:{5_000_000_000 + s}:paid" for s in range(1, 6))
    assert {e.sale.sale_id for e in result.events} == {f"shopify-{5_000_000_000 + s}" for s in range(1, 6)}
    later = await shopify_poller(http, sandbox.url).poll(
        datetime.now(UTC) + timedelta(minutes=1), now=datetime.now(UTC)
    )
    assert later.listed == 0


async def test_shopify_refused_token_is_a_configuration_error(sandbox: RunningSandbox, http: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigurationError):
        await shopify_poller(http, sandbox.url, token="wrong").poll(recently(), now=datetime.now(UTC))


async def test_square_follows_the_cursor(sandbox: RunningSandbox, http: httpx.AsyncClient) -> None:
    store = platforms(sandbox)
    for seed in range(1, 6):
        store.record("square", sb_square.sample_order(seed))
    store.record("square", dict(sb_square.sample_order(8), state="OPEN"))
    result = await square_poller(http, sandbox.url).poll(recently(), now=datetime.now(UTC))
    assert result.pages == 3 and result.listed == 5  # the OPEN order is filtered by Square itself
    assert sorted(e.event_id for e in result.events) == [f"poll:SQORDER{s:06d}:paid" for s in range(1, 6)]


async def test_stripe_pages_with_starting_after_and_keeps_event_ids(
    sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    store = platforms(sandbox)
    for seed in range(1, 6):
        store.record("stripe", sb_stripe.sample_event("payment_intent.succeeded", seed))
    store.record("stripe", sb_stripe.sample_event("charge.refunded", 7))
    result = await stripe_poller(http, sandbox.url).poll(recently(), now=datetime.now(UTC))
    assert result.pages == 3 and result.listed == 5
    assert [e.event_id for e in result.events] == [f"evt_sandbox{s}" for s in range(1, 6)]


async def test_an_outage_is_transient(sandbox: RunningSandbox, http: httpx.AsyncClient) -> None:
    platforms(sandbox).outage = 503
    with pytest.raises(TransientProviderError):
        await stripe_poller(http, sandbox.url).poll(recently(), now=datetime.now(UTC))
    with pytest.raises(TransientProviderError):
        await square_poller(http, "http://127.0.0.1:9").poll(recently(), now=datetime.now(UTC))


def test_next_link_reads_the_rel_next_url() -> None:
    header = '<https://s/a?page_info=p1&limit=2>; rel="previous", <https://s/a?page_info=p2&limit=2>; rel="next"'
    assert next_link(header) == "https://s/a?page_info=p2&limit=2"
    assert next_link(None) is None


async def test_clover_lists_orders_modified_since_a_time_with_their_refunds(
    sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    store = platforms(sandbox)
    start = datetime.now(UTC) - timedelta(hours=2)
    orders = [
        sb_clover.sample_order(random.Random(i), order_id=f"CLV{i:05d}", when=start + timedelta(minutes=i))
        for i in range(5)
    ]
    for order in orders:
        store.record("clover", order)
    refunded_at = int((start + timedelta(hours=1)).timestamp() * 1000)  # the first order, refunded later
    store.record("clover", sb_clover.refunded(orders[0], amount=199, refund_id="RF0", at_ms=refunded_at))
    result = await clover_poller(http, sandbox.url).poll(start + timedelta(minutes=2), now=datetime.now(UTC))
    assert result.pages == 3 and result.listed == 4  # orders 2, 3, 4 and the refunded one; 1 is older
    sales = sorted(e.sale.sale_id for e in result.events if isinstance(e, TriggerEvent))
    assert sales == [f"clover-CLV{i:05d}" for i in (2, 3, 4)]
    [refund] = [e for e in result.events if isinstance(e, OrderUpdate)]
    assert refund.status is OrderStatus.REFUNDED and refund.order_id == "CLV00000"
    assert str(refund.refund_amount) == "1.99" and refund.event_id == "poll:CLV00000:refund:RF0"
    assert result.cursor == str(refunded_at)
    with pytest.raises(ConfigurationError):
        await clover_poller(http, sandbox.url, token="wrong").poll(start, now=datetime.now(UTC))
    store.outage = 503
    with pytest.raises(TransientProviderError):
        await clover_poller(http, sandbox.url).poll(start, now=datetime.now(UTC))
