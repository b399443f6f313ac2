"""Every platform's cancellation and refund reaches the customer as a plain sentence, in English and Spanish.

Each case is a real webhook of its platform (signed by the sandbox's signer, Clover's order fetched from
the sandbox's stand-in in process), parsed by the real trigger and rendered by the real update renderer:
the reason a shopper reads is the catalogue's sentence for the mapped reason, and the platform's own
code appears nowhere in the subject, the text, the HTML or the SMS.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.domain.channels import Language
from app.domain.inbound import InboundRequest
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.reasons import Reason
from app.domain.receipt import StoreProfile
from app.rendering.i18n import catalogue
from app.rendering.updates import UpdateRenderer, build_update_view
from app.sandbox.platforms import clover as clover_sandbox
from app.sandbox.platforms import shopify as shopify_sandbox
from app.sandbox.platforms import square as square_sandbox
from app.sandbox.platforms import stripe as stripe_sandbox
from app.triggers.clover import CloverTrigger
from app.triggers.shopify import ShopifyTrigger
from app.triggers.square import SquareTrigger
from app.triggers.stripe import StripeTrigger

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
STORE = StoreProfile("Prairie Grocer", "12 Main St, Urbana IL", "(217) 555-0100")
URL = "https://hub.example.com/webhooks/"
Build = Callable[[str | None], Awaitable[OrderUpdate]]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def inbound(headers: dict[str, str], body: bytes, platform: str) -> InboundRequest:
    return InboundRequest(URL + platform, {k.lower(): v for k, v in headers.items()}, body, NOW)


async def only_update(trigger: Any, request: InboundRequest) -> OrderUpdate:
    trigger.verify(request)
    [update] = await trigger.events(request)
    assert isinstance(update, OrderUpdate)
    return update


async def shopify_cancel(code: str | None) -> OrderUpdate:
    order = dict(fixture("shopify_order_paid.json"), cancelled_at="2026-11-28T09:00:00-06:00", cancel_reason=code)
    headers, body = shopify_sandbox.signed_webhook("orders/cancelled", order, url="", secret="s3cret")
    return await only_update(ShopifyTrigger(client_secret="s3cret", store_id="store-0042"), inbound(headers, body, ""))


async def shopify_refund(note: str | None) -> OrderUpdate:
    refund = dict(fixture("shopify_refund_fixture_sdk.json")["refund"], note=note)
    headers, body = shopify_sandbox.signed_webhook("refunds/create", refund, url="", secret="s3cret")
    return await only_update(ShopifyTrigger(client_secret="s3cret", store_id="store-0042"), inbound(headers, body, ""))


def square(http: httpx.AsyncClient) -> SquareTrigger:
    return SquareTrigger(
        signature_key="sqkey", store_id="store-0042", client=http, access_token="t", notification_url=URL + "square"
    )


async def square_refund(reason: str | None) -> OrderUpdate:
    event = fixture("square_refund_updated.json")
    event["data"]["object"]["refund"]["reason"] = reason
    headers, body = square_sandbox.signed_webhook(event["type"], event, url=URL + "square", secret="sqkey")
    async with httpx.AsyncClient() as http:
        return await only_update(square(http), inbound(headers, body, "square"))


async def square_cancel(_: str | None) -> OrderUpdate:
    event = fixture("square_order_updated.json")
    event["data"]["object"]["order_updated"]["state"] = "CANCELED"
    headers, body = square_sandbox.signed_webhook(event["type"], event, url=URL + "square", secret="sqkey")
    async with httpx.AsyncClient() as http:
        return await only_update(square(http), inbound(headers, body, "square"))


def stripe_request(event: dict[str, Any]) -> InboundRequest:
    headers, body = stripe_sandbox.signed_webhook(event["type"], event, url="", secret="whsec_test")
    return inbound(headers, body, "stripe")


async def stripe_refund(reason: str | None) -> OrderUpdate:
    event = fixture("stripe_charge_refunded.json")
    event["created"] = int(NOW.timestamp())
    event["data"]["object"]["refunds"]["data"][0]["reason"] = reason
    trigger = StripeTrigger(signing_secret="whsec_test", store_id="store-0042", tolerance_s=10**10)
    return await only_update(trigger, stripe_request(event))


async def stripe_cancel(reason: str | None) -> OrderUpdate:
    intent = {
        "id": "pi_3Qcancel",
        "object": "payment_intent",
        "status": "canceled",
        "cancellation_reason": reason,
        "metadata": {"order_id": "web-7"},
    }
    event = {"id": "evt_cancel1", "type": "payment_intent.canceled", "created": int(NOW.timestamp())}
    event["data"] = {"object": intent}
    trigger = StripeTrigger(signing_secret="whsec_test", store_id="store-0042", tolerance_s=10**10)
    return await only_update(trigger, stripe_request(event))


async def clover_update(order: dict[str, Any]) -> OrderUpdate:
    app = Starlette(routes=clover_sandbox.routes({order["id"]: order}))
    headers, body = clover_sandbox.signed_webhook(clover_sandbox.sample_event(order["id"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        trigger = CloverTrigger(
            auth_code=clover_sandbox.SANDBOX_AUTH_CODE,
            store_id="store-0042",
            client=http,
            api_token=clover_sandbox.SANDBOX_TOKEN,
            merchant_id=clover_sandbox.SANDBOX_MERCHANT_ID,
            base_url="http://clover.test",
        )
        return await only_update(trigger, inbound(headers, body, "clover"))


async def clover_refund(_: str | None) -> OrderUpdate:
    order = clover_sandbox.refunded(fixture("clover_order_paid.json"), amount=250, at_ms=1_764_340_000_000)
    return await clover_update(order)


async def clover_void(reason: str | None) -> OrderUpdate:
    order = fixture("clover_order_paid.json")
    order = clover_sandbox.voided(order, reason=reason or "", at_ms=1_764_340_000_000)
    return await clover_update(order)


CASES: list[tuple[str, Build, str | None, Reason | None]] = [
    ("shopify cancel fraud", shopify_cancel, "fraud", Reason.SUSPECTED_FRAUD),
    ("shopify cancel inventory", shopify_cancel, "inventory", Reason.UNAVAILABLE),
    ("shopify cancel declined", shopify_cancel, "declined", Reason.PAYMENT_DECLINED),
    ("shopify cancel staff", shopify_cancel, "staff", Reason.STORE_ERROR),
    ("shopify cancel unknown", shopify_cancel, "warehouse_flood", Reason.NEUTRAL),
    ("shopify refund note", shopify_refund, "bread was stale", Reason.NEUTRAL),
    ("shopify refund bare", shopify_refund, None, None),
    ("square refund returned", square_refund, "Returned goods", Reason.RETURNED),
    ("square refund accidental", square_refund, "Accidental charge", Reason.CHARGED_IN_ERROR),
    ("square refund typed", square_refund, "Bruised apples", Reason.NEUTRAL),
    ("square cancel", square_cancel, None, None),
    ("stripe refund duplicate", stripe_refund, "duplicate", Reason.DUPLICATE_CHARGE),
    ("stripe refund fraudulent", stripe_refund, "fraudulent", Reason.SUSPECTED_FRAUD),
    ("stripe refund expired", stripe_refund, "expired_uncaptured_charge", Reason.HOLD_EXPIRED),
    ("stripe refund unknown", stripe_refund, "goodwill_gesture", Reason.NEUTRAL),
    ("stripe cancel customer", stripe_cancel, "requested_by_customer", Reason.CUSTOMER_REQUEST),
    ("stripe cancel abandoned", stripe_cancel, "abandoned", Reason.NOT_COMPLETED),
    ("stripe cancel unknown", stripe_cancel, "brand_new_reason", Reason.NEUTRAL),
    ("clover refund", clover_refund, None, None),
    ("clover void duplicate", clover_void, "REJECT_DUPLICATE", Reason.DUPLICATE_CHARGE),
    ("clover void customer", clover_void, "USER_CUSTOMER_CANCEL", Reason.CUSTOMER_REQUEST),
    ("clover void unknown", clover_void, "SOMETHING_NEW", Reason.NEUTRAL),
]


def flat(text: str) -> str:
    """Text with its wrapping undone, to find a sentence the 48-column layout split."""
    return " ".join(text.split())


@pytest.mark.parametrize("language", [Language.EN, Language.ES], ids=lambda lang: lang.value)
@pytest.mark.parametrize(("build", "code", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_the_reason_is_the_mapped_sentence_and_the_code_never_shows(
    build: Build, code: str | None, expected: Reason | None, language: Language
) -> None:
    update = await build(code)
    assert update.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    assert update.reason is expected
    view = build_update_view(
        status=update.status,
        store=STORE,
        language=language,
        order_label=update.order_name or update.order_id,
        occurred_at=update.occurred_at,
        lines=(),
        pending=(),
        tracking=(),
        refund_amount=update.refund_amount,
        reason=update.reason,
    )
    rendered = UpdateRenderer(sms_ascii_fold=False).render(view)
    labels = catalogue(language)
    intro = labels[f"update_intro_{update.status.value}"].split("{")[0]
    assert intro in flat(rendered.text) and intro in flat(rendered.html)
    assert rendered.subject in rendered.sms  # the SMS says what happened by its subject line
    if expected is None:
        assert view.reason == ""
    else:
        sentence = labels[f"reason_{expected.value}"]
        assert view.reason == sentence
        assert sentence in flat(rendered.text) and sentence in flat(rendered.html) and sentence in flat(rendered.sms)
    if code:
        for form in (rendered.subject, rendered.text, rendered.html, rendered.sms):
            assert code not in form and code.casefold() not in form.casefold()
