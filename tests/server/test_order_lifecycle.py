"""The order lifecycle through the real local API: shipped in parts, cancelled, refunded, out of order.

Shopify webhooks are signed by the sandbox's signer and posted over loopback; the dispatcher sends
through the provider sandbox, whose inspection API shows exactly what the customer got.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.main import Runtime, build_runtime
from app.sandbox.fire import fire
from app.sandbox.platforms import shopify as shopify_sandbox
from app.sandbox.platforms import square as square_sandbox
from app.sandbox.platforms import stripe as stripe_sandbox
from app.sandbox.server import RunningSandbox
from app.storage import audit
from app.support.asgi_server import start_asgi_server
from app.triggers.shopify import shopify_id
from tests.conftest import authorised, new_database, wait_until

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
SECRETS = {"shopify": {"client_secret": "shopify-test-secret"}, "stripe": {"signing_secret": "whsec_test_secret"}}
ORDER = json.loads((FIXTURES / "shopify_order_paid.json").read_text())
ORDER_ID = shopify_id(ORDER["id"])
Client = tuple[Runtime, httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def api(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Client]:
    settings = sandbox_settings(Settings(), sandbox.url)
    settings = settings.model_copy(update={"platforms": {name: {} for name in SECRETS}})
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets={**sandbox_secrets(sandbox.url), **SECRETS})
    runtime.start_dispatching()
    server = await start_asgi_server(runtime.local_api(), name="api")
    headers = await authorised(runtime)
    async with (
        httpx.AsyncClient(base_url=server.url, headers=headers) as client,
        httpx.AsyncClient(base_url=sandbox.url) as inbox,
    ):
        yield runtime, client, inbox
    await server.stop()
    await runtime.close()


async def post(client: httpx.AsyncClient, topic: str, payload: dict[str, Any], event_id: str) -> dict[str, Any]:
    headers, body = shopify_sandbox.signed_webhook(topic, payload, url="", secret="shopify-test-secret")
    headers["X-Shopify-Event-Id"] = event_id
    response = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def fulfilment(number: int, lines: list[tuple[str, int]], tracking: str) -> dict[str, Any]:
    by_title = {line["title"]: line for line in ORDER["line_items"]}
    return {
        "id": 9000 + number,
        "order_id": ORDER["id"],
        "status": "success",
        "created_at": "2026-11-28T09:00:00-06:00",
        "tracking_company": "UPS",
        "tracking_numbers": [tracking],
        "tracking_urls": [f"https://www.ups.com/track?tracknum={tracking}"],
        "line_items": [dict(by_title[title], quantity=qty) for title, qty in lines],
    }


async def mails(inbox: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async def arrived() -> bool:
        return int((await inbox.get("/_sandbox/messages")).json()["count"]) >= count

    await wait_until(arrived)
    messages: list[dict[str, Any]] = (await inbox.get("/_sandbox/messages")).json()["messages"]
    return messages


def text_of(message: dict[str, Any]) -> str:
    """Subject and plain text of a mail the sandbox took (it keeps the HTML only as a hash)."""
    return f"{message['subject']}\n{message['text']}"


async def test_a_shipment_in_two_parts_then_a_refund_each_reach_the_customer_once(api: Client) -> None:
    runtime, client, inbox = api
    sale = await post(client, "orders/paid", ORDER, "evt-paid")
    receipt_id = sale["receipts"][0]["receipt_id"]
    await mails(inbox, 1)

    first = fulfilment(1, [("Whole Milk 1 gal", 2), ("Sourdough Bread", 1)], "1ZA1")
    answer = await post(client, "fulfillments/create", first, "evt-f1")
    assert answer["updates"][0]["status"] == "partially_shipped"
    again = await post(client, "fulfillments/update", first, "evt-f1-update")  # same change, new event id
    assert again["updates"][0]["duplicate"] is True
    retried = await post(client, "fulfillments/create", first, "evt-f1")  # Shopify's retry of the same event
    assert retried["updates"][0]["duplicate"] is True
    messages = await mails(inbox, 2)
    partial = text_of(messages[1])
    assert "Part of your order" in partial and "STILL TO COME\nPaper Towels 6 roll" in partial
    assert "https://www.ups.com/track?tracknum=1ZA1" in partial

    rest = fulfilment(2, [("Sourdough Bread", 1), ("Paper Towels 6 roll", 1)], "1ZA2")
    answer = await post(client, "fulfillments/create", rest, "evt-f2")
    assert answer["updates"][0]["status"] == "fulfilled"
    refund = json.loads((FIXTURES / "shopify_refund_fixture_sdk.json").read_text())["refund"]
    refund = dict(refund, order_id=ORDER["id"], refund_line_items=[], note="bread was stale")
    refund["created_at"] = "2026-11-29T10:00:00-06:00"
    refund["transactions"][0]["amount"] = "4.99"
    await post(client, "refunds/create", refund, "evt-r1")
    messages = await mails(inbox, 4)
    assert "has shipped" in text_of(messages[2]) and "STILL TO COME" not in text_of(messages[2])
    assert "$4.99" in text_of(messages[3]) and "The store made this change." in text_of(messages[3])
    assert "bread was stale" not in text_of(messages[3])  # a staff-only note
    assert all(m["to"] == messages[0]["to"] for m in messages)

    detail = (await client.get(f"/v1/receipts/{receipt_id}")).json()
    assert [u["status"] for u in detail["updates"]] == ["partially_shipped", "fulfilled", "refunded"]
    assert detail["updates"][2]["refund_amount"] == "4.99"
    assert all(len(u["deliveries"]) == 1 for u in detail["updates"])
    assert len(detail["deliveries"]) == 4  # the receipt and three updates, nothing doubled
    entries = await runtime.db.read(lambda s: audit.recent(s, action="order.updated"))
    assert len(entries) == 3
    assert await runtime.receipts.count() == 1


async def test_a_fulfilment_before_the_paid_order_waits_and_follows_the_receipt(api: Client) -> None:
    _, client, inbox = api
    early = fulfilment(1, [], "1ZEARLY")  # a whole-order fulfilment, overtaking orders/paid
    answer = await post(client, "fulfillments/create", early, "evt-early")
    assert answer["updates"][0]["receipt_id"] is None and answer["updates"][0]["duplicate"] is False
    assert (await inbox.get("/_sandbox/messages")).json()["count"] == 0

    sale = await post(client, "orders/paid", ORDER, "evt-paid")
    messages = await mails(inbox, 2)
    assert messages[0]["subject"].startswith("Your receipt")
    assert "has shipped" in text_of(messages[1]) and "1ZEARLY" in text_of(messages[1])
    detail = (await client.get(f"/v1/receipts/{sale['receipts'][0]['receipt_id']}")).json()
    assert [u["status"] for u in detail["updates"]] == ["fulfilled"]
    assert [line["name"] for line in detail["updates"][0]["lines"]] == []  # the change as the platform told it


async def test_a_stripe_refund_reaches_the_receipt_of_its_payment(api: Client) -> None:
    _, client, inbox = api
    intent = stripe_sandbox.sample_event("payment_intent.succeeded", 4)
    secret = "whsec_test_secret"
    headers, body = stripe_sandbox.signed_webhook("payment_intent.succeeded", intent, url="", secret=secret)
    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 202
    refund = json.loads((FIXTURES / "stripe_charge_refunded.json").read_text())
    refund["data"]["object"]["payment_intent"] = intent["data"]["object"]["id"]
    headers, body = stripe_sandbox.signed_webhook("charge.refunded", refund, url="", secret=secret)
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 202, response.text
    [update] = response.json()["updates"]
    assert update["status"] == "refunded" and update["receipt_id"]
    messages = await mails(inbox, 2)
    assert "$12.99" in text_of(messages[1])


# Every platform's cancellation or refund, through its webhook route, to an update queued for the customer.

Every = tuple[Runtime, httpx.AsyncClient, str]


@pytest.fixture
async def every(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Every]:
    """The app with every platform set up as the demo sets it up (the sandbox's settings and secrets)."""
    new_database(tmp_path)
    runtime = build_runtime(
        sandbox_settings(Settings(), sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url)
    )
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield runtime, client, sandbox.url
    await server.stop()
    await runtime.close()


async def webhook(client: httpx.AsyncClient, platform: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    response = await client.post(f"/webhooks/{platform}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def queued_update(runtime: Runtime, answer: dict[str, Any], status: str) -> str:
    """The subject and text of the one update `answer` queued, after checking it was queued."""
    [update] = answer["updates"]
    assert update["status"] == status and update["receipt_id"] and update["deliveries"] >= 1, update
    [told] = [u for u in (await runtime.receipts.get(update["receipt_id"])).updates if u.id == update["update_id"]]
    return " ".join(f"{told.subject}\n{told.text}".split())


async def test_a_shopify_cancellation_names_the_shop_order_and_says_why_and_the_refund(every: Every) -> None:
    runtime, client, _ = every
    secret = shopify_sandbox.SANDBOX_CLIENT_SECRET
    await webhook(client, "shopify", *shopify_sandbox.signed_webhook("orders/paid", ORDER, url="", secret=secret))
    refund = {"id": 77, "transactions": [{"kind": "refund", "status": "success", "amount": "34.43"}]}
    cancelled = dict(ORDER, cancelled_at="2026-11-28T09:00:00-06:00", cancel_reason="inventory", refunds=[refund])
    answer = await webhook(
        client, "shopify", *shopify_sandbox.signed_webhook("orders/cancelled", cancelled, url="", secret=secret)
    )
    text = await queued_update(runtime, answer, "cancelled")
    assert f"Your order {ORDER['name']} from" in text and ORDER_ID not in text  # the shop's #9999, not our id
    assert "Some items were not available." in text and "We refunded $34.43" in text
    assert "inventory" not in text and "Reason:" not in text


async def test_a_square_refund_says_the_sellers_choice_as_a_sentence(every: Every) -> None:
    runtime, client, sandbox_url = every
    url = f"{client.base_url}/webhooks/square".replace("//webhooks", "/webhooks")
    async with httpx.AsyncClient(timeout=10) as raw:
        lines, ok = await fire(
            raw, "square", app_url=str(client.base_url), sandbox_url=sandbox_url, topic="payment.updated", seed=3
        )
    assert ok, lines
    order = square_sandbox.sample_order(3)
    refund = {
        "id": "RF1",
        "status": "COMPLETED",
        "order_id": order["id"],
        "amount_money": {"amount": 150, "currency": "USD"},
        "reason": "Returned goods",
    }
    event = {"type": "refund.created", "event_id": "evt-sq-refund", "data": {"object": {"refund": refund}}}
    secret = square_sandbox.SANDBOX_SIGNATURE_KEY
    answer = await webhook(client, "square", *square_sandbox.signed_webhook("", event, url=url, secret=secret))
    text = await queued_update(runtime, answer, "refunded")
    assert "You returned the items." in text and "We refunded $1.50" in text
    assert "Returned goods" not in text


async def test_a_stripe_refund_of_a_duplicate_charge_says_so(every: Every) -> None:
    runtime, client, _ = every
    secret = stripe_sandbox.SANDBOX_SIGNING_SECRET
    intent = stripe_sandbox.sample_event("payment_intent.succeeded", 4)
    await webhook(client, "stripe", *stripe_sandbox.signed_webhook("", intent, url="", secret=secret))
    refund = json.loads((FIXTURES / "stripe_charge_refunded.json").read_text())
    refund["data"]["object"]["payment_intent"] = intent["data"]["object"]["id"]
    refund["data"]["object"]["refunds"]["data"][0]["reason"] = "duplicate"
    answer = await webhook(client, "stripe", *stripe_sandbox.signed_webhook("", refund, url="", secret=secret))
    text = await queued_update(runtime, answer, "refunded")
    assert "You were charged twice for the same purchase" in text and "duplicate" not in text


async def test_a_clover_void_is_a_cancellation_that_charged_nothing(every: Every) -> None:
    runtime, client, sandbox_url = every

    async def send(topic: str) -> None:
        async with httpx.AsyncClient(timeout=10) as raw:
            lines, ok = await fire(
                raw, "clover", app_url=str(client.base_url), sandbox_url=sandbox_url, topic=topic, seed=2
            )
        assert ok, lines

    await send("UPDATE")  # the sale; the cashier then emails its receipt from the kiosk
    [receipt] = await runtime.receipts.list(limit=10)
    await runtime.receipts.resend(
        receipt.receipt_id, Channel.EMAIL, "ana@example.com", reason="asked at the till", actor="lane"
    )
    await send("void")  # then its payments are voided at the customer's request
    [update] = (await runtime.receipts.get(receipt.receipt_id)).updates
    assert update.status == "cancelled" and len(update.delivery_ids) == 1  # queued where the receipt went
    text = " ".join(update.text.split())
    assert "Your order SBXORDER00002 was cancelled. You were not charged." in text
    assert "This was done at your request." in text and "USER_CUSTOMER_CANCEL" not in text
