"""Texts to unexpected places: checkout, the kiosk, resends and order notices keep to the text limits.

Real SQLite files, the real services, and a clock each test moves by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.errors import ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.reasons import Reason
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits, TextRefused
from app.rendering.receipts import ReceiptRenderer
from app.rendering.updates import UpdateRenderer
from app.services.bus import EventBus
from app.services.checkout import CheckoutResult, CheckoutService
from app.services.kiosk import KioskService, ReceiptChoice, SendRequest
from app.services.lifecycle import LifecycleService
from app.services.queueing import AuditNote, Send, SmsConsent, queue_receipt
from app.services.receipts import ConsentSource, ReceiptService, ResendConsent
from app.storage import sales
from app.storage.database import Database
from app.storage.models import AuditRow, ConsentRow, DeliveryRow

Payload = Callable[..., dict[str, Any]]
ROUTING = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio", Channel.WHATSAPP: "twilio_whatsapp"}
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

UK = "+447400123456"
TORONTO = "+14165550123"
JAMAICA = "+18765550123"
SPRINGFIELD = "+12175550100"
AGREED = ResendConsent("The customer agreed to texts at the desk.", ConsentSource.MANAGER_DESK)


class Clock:
    """The time every service of a test reads; the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Store:
    """Checkout, resends and the kiosk over one database, with one clock and one set of limits."""

    def __init__(self, db: Database, sale_payload: Payload, limits: TextLimits = DEFAULT_LIMITS) -> None:
        self.db = db
        self.clock = Clock()
        self.limits = limits
        self._payload = sale_payload
        self._sales = 0
        bus = EventBus()
        self.checkout = CheckoutService(
            db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, bus, clock=self.clock, texts=limits
        )
        self.receipts = ReceiptService(db, ROUTING, bus, clock=self.clock, texts=limits)
        self.kiosk = KioskService(db, ROUTING, bus, clock=self.clock, texts=limits)

    async def sell(self, **customer: Any) -> CheckoutResult:
        """One sale through checkout, now, to `customer`."""
        self._sales += 1
        payload = self._payload(f"S-{self._sales}", seed=self._sales)
        payload["customer"] = {"name": "Ana Garcia", **customer}
        event = TriggerEvent("pos-api", f"evt-{self._sales}", parse_sale(payload), self.clock())
        return await self.checkout.accept(event)

    async def texts(self) -> list[tuple[str, str]]:
        """Every text queued, as (channel, recipient)."""
        rows = await self.db.read(
            lambda s: list(
                s.execute(select(DeliveryRow.channel, DeliveryRow.recipient).order_by(DeliveryRow.created_at))
            )
        )
        return [(c, r) for c, r in rows if c in {Channel.SMS.value, Channel.WHATSAPP.value}]

    async def audit(self, action: str) -> list[dict[str, Any]]:
        rows = await self.db.read(
            lambda s: list(s.scalars(select(AuditRow.detail).where(AuditRow.action == action).order_by(AuditRow.seq)))
        )
        return [json.loads(r) for r in rows]


@pytest.fixture
def store(db: Database, sale_payload: Payload) -> Store:
    return Store(db, sale_payload)


# -- where texts may go --------------------------------------------------------------------------


async def test_checkout_sends_no_text_to_the_uk_and_says_why_and_the_email_still_goes(store: Store) -> None:
    result = await store.sell(phone=UK, email="ana@example.com", channels=["email", "sms"])
    assert [d.channel for d in result.deliveries] == [Channel.EMAIL]
    assert result.warnings == (
        "Texts to numbers in GB (+44) are not allowed here (allowed: CA, US): send this receipt by email or print it.",
    )
    assert await store.texts() == []
    (created,) = await store.audit("receipt.created")
    assert created["channels"] == ["email"] and created["texts_refused"] == list(result.warnings)
    assert UK not in json.dumps(created)


async def test_checkout_texts_a_canadian_number(store: Store) -> None:
    result = await store.sell(phone=TORONTO, channels=["sms"])
    assert result.warnings == () and [d.channel for d in result.deliveries] == [Channel.SMS]
    assert await store.texts() == [("sms", TORONTO)]


async def test_checkout_sends_no_text_to_jamaica_behind_a_plus_one(store: Store) -> None:
    result = await store.sell(phone="(876) 555-0123", channels=["sms"])
    assert result.deliveries == ()
    assert len(result.warnings) == 1 and "JM (+1)" in result.warnings[0]
    assert await store.texts() == []


async def test_a_country_the_settings_allow_is_texted(db: Database, sale_payload: Payload) -> None:
    store = Store(db, sale_payload, TextLimits(allowed_countries=frozenset({"US", "CA", "JM"})))
    result = await store.sell(phone=JAMAICA, channels=["sms"])
    assert result.warnings == () and await store.texts() == [("sms", JAMAICA)]


async def test_the_kiosk_refuses_a_uk_number_in_one_line_and_queues_nothing(store: Store) -> None:
    sold = await store.sell(email="ana@example.com", channels=[])
    request = SendRequest(ReceiptChoice.BOTH, email="ana@example.com", phone=UK, consent_text="Yes, text me.")
    with pytest.raises(TextRefused) as refused:
        await store.kiosk.send(sold.receipt_id, request)
    assert refused.value.field == "phone" and "\n" not in refused.value.message
    assert refused.value.message.startswith("Texts to numbers in GB (+44) are not allowed here")
    assert await store.audit("receipt.kiosk_both") == []
    deliveries = await store.db.read(lambda s: list(s.scalars(select(DeliveryRow.id))))
    assert deliveries == []  # not even the email: the cashier asks again


async def test_the_kiosk_texts_a_country_the_settings_allow(db: Database, sale_payload: Payload) -> None:
    store = Store(db, sale_payload, TextLimits(allowed_countries=frozenset({"US", "CA", "GB"})))
    sold = await store.sell(email="ana@example.com", channels=[])
    request = SendRequest(ReceiptChoice.SMS, phone=UK, consent_text="Yes, text me.")
    outcome = await store.kiosk.send(sold.receipt_id, request)
    assert [d.channel for d in outcome.deliveries] == [Channel.SMS]
    assert await store.texts() == [("sms", UK)]


# -- how many to one number ----------------------------------------------------------------------


async def test_the_eleventh_text_to_a_number_in_24_hours_is_refused_and_allowed_again_after(store: Store) -> None:
    for _ in range(10):
        result = await store.sell(phone=SPRINGFIELD, channels=["sms"])
        assert result.warnings == ()
        store.clock.now += timedelta(hours=1)
    eleventh = await store.sell(phone=SPRINGFIELD, channels=["sms"])  # 10 h after the first
    assert eleventh.deliveries == ()
    assert eleventh.warnings == (
        "This number has had 10 texts in the last 24 hours (at most 10): send this receipt by email or print it.",
    )
    store.clock.now = START + timedelta(hours=24)  # the first text has left the window
    again = await store.sell(phone=SPRINGFIELD, channels=["sms"])
    assert again.warnings == () and len(again.deliveries) == 1
    assert len(await store.texts()) == 11


async def test_whatsapp_counts_with_sms_against_the_same_number(store: Store) -> None:
    sold = await store.sell(email="ana@example.com", channels=["email"])
    note = AuditNote("test", "receipt.whatsapp", lambda queued: {"ids": [d.id for d in queued]})
    sale = await store.db.read(lambda s: sales.sale_of_receipt(s, sold.receipt_id))
    assert sale is not None and sale.customer_id is not None
    agreed = SmsConsent(sale.customer_id, "Yes, text me.", "test")

    def queue(channel: Channel, number: str) -> Callable[[Any], Any]:
        sends = [Send(channel, ROUTING[channel], number)]
        return lambda s: queue_receipt(s, sold.receipt_id, sends, consent=agreed, note=note, now=store.clock())

    for index in range(10):
        channel = Channel.SMS if index % 2 else Channel.WHATSAPP
        assert len(await store.db.write(queue(channel, SPRINGFIELD))) == 1
    with pytest.raises(TextRefused, match="has had 10 texts"):
        await store.db.write(queue(Channel.WHATSAPP, SPRINGFIELD))
    with pytest.raises(TextRefused, match=r"GB \(\+44\)"):
        await store.db.write(queue(Channel.WHATSAPP, UK))
    assert len(await store.texts()) == 10


# -- resends -------------------------------------------------------------------------------------


async def test_a_resend_keeps_to_the_country_and_the_per_number_cap(store: Store) -> None:
    sold = await store.sell(email="ana@example.com", channels=["email"])
    for channel in (Channel.SMS, Channel.WHATSAPP):
        with pytest.raises(TextRefused, match=r"GB \(\+44\)"):
            await store.receipts.resend(sold.receipt_id, channel, UK, reason="asked at the desk", actor="manager")
    for _ in range(10):
        await store.receipts.resend(
            sold.receipt_id, Channel.SMS, TORONTO, reason="asked again", actor="manager", consent=AGREED
        )
    with pytest.raises(TextRefused, match="has had 10 texts"):
        await store.receipts.resend(
            sold.receipt_id, Channel.WHATSAPP, TORONTO, reason="once more", actor="manager", consent=AGREED
        )
    assert len(await store.texts()) == 10


async def test_resends_to_new_numbers_stop_at_the_hourly_cap_and_resume_an_hour_later(
    db: Database, sale_payload: Payload
) -> None:
    store = Store(db, sale_payload, TextLimits(resends_to_new_numbers_per_hour=3))
    sold = await store.sell(phone=SPRINGFIELD, channels=["sms"])

    async def resend(number: str, channel: Channel = Channel.SMS) -> str:
        return await store.receipts.resend(
            sold.receipt_id, channel, number, reason="typo", actor="manager", consent=AGREED
        )

    for last in ("0101", "0102", "0103"):
        await resend(f"+1217555{last}")
        store.clock.now += timedelta(minutes=10)
    with pytest.raises(TextRefused) as refused:
        await resend("+12175550104", Channel.WHATSAPP)
    assert refused.value.message == (
        "3 resends went to new numbers in the last hour (at most 3): check the number, or send it by email."
    )
    await resend(SPRINGFIELD)  # the number the receipt went to: not new, not capped
    await resend("+12175550101")  # resent to earlier: not new any more
    store.clock.now = START + timedelta(hours=1, minutes=1)  # the first resend has left the hour
    await resend("+12175550104")
    resent = await store.audit("receipt.resent")
    assert [r["new_number"] for r in resent] == [True, True, True, False, False, True]


async def test_a_resend_by_text_to_a_new_number_needs_the_customers_consent_and_records_how(store: Store) -> None:
    sold = await store.sell(phone=SPRINGFIELD, channels=["sms"])  # agreed at the till
    for channel in (Channel.SMS, Channel.WHATSAPP):
        with pytest.raises(ValidationFailed) as refused:
            await store.receipts.resend(sold.receipt_id, channel, TORONTO, reason="new phone", actor="manager")
        assert refused.value.field == "consent" and "agreed to texts" in refused.value.message
    assert await store.audit("receipt.resent") == [] and len(await store.texts()) == 1  # nothing queued
    screen = ResendConsent("By tapping I agree you ask the store to text this receipt.", ConsentSource.CUSTOMER_SCREEN)
    await store.receipts.resend(sold.receipt_id, Channel.SMS, TORONTO, reason="new phone", actor="m", consent=screen)
    await store.receipts.resend(sold.receipt_id, Channel.SMS, TORONTO, reason="again", actor="m")  # now on file
    await store.receipts.resend(sold.receipt_id, Channel.SMS, SPRINGFIELD, reason="again", actor="m")
    await store.receipts.resend(
        sold.receipt_id, Channel.WHATSAPP, JAMAICA.replace("876", "312"), reason="wa", actor="m", consent=AGREED
    )
    rows = await store.db.read(
        lambda s: [
            (r.channel, r.contact, r.purpose, r.source, r.staff, r.text_shown)
            for r in s.scalars(select(ConsentRow).order_by(ConsentRow.id))
        ]
    )
    assert rows[-2:] == [
        ("sms", TORONTO, "receipts", "manager_resend:customer_screen", "m", screen.text),
        ("whatsapp", "+13125550123", "receipts", "manager_resend:at_desk", "m", AGREED.text),
    ]
    assert [r.get("consent") for r in await store.audit("receipt.resent")] == [
        "manager_resend:customer_screen",
        None,
        None,
        "manager_resend:at_desk",
    ]


async def test_a_resend_reason_holding_a_card_number_is_refused_without_repeating_it(store: Store) -> None:
    sold = await store.sell(email="ana@example.com", channels=["email"])
    with pytest.raises(ValidationFailed) as refused:
        await store.receipts.resend(
            sold.receipt_id, Channel.EMAIL, "ana@example.com", reason="card 4111 1111 1111 1111", actor="manager"
        )
    assert refused.value.field == "reason"
    assert "4111" not in refused.value.message and "1111" not in refused.value.message
    assert await store.audit("receipt.resent") == []
    await store.receipts.resend(
        sold.receipt_id, Channel.EMAIL, "ana@example.com", reason="order 4111 was mistyped", actor="manager"
    )
    assert len(await store.audit("receipt.resent")) == 1


# -- order notices -------------------------------------------------------------------------------


async def test_an_order_notice_skips_a_text_over_the_cap_and_still_emails(db: Database, sale_payload: Payload) -> None:
    store = Store(db, sale_payload, TextLimits(per_number_per_day=2))
    lifecycle = LifecycleService(
        db, UpdateRenderer(), DEMO_PROFILE, ROUTING, EventBus(), clock=store.clock, texts=store.limits
    )
    payload = sale_payload("S-77", seed=7)
    payload["order_id"] = "WEB-77"
    payload["customer"] = {"name": "Ana", "email": "ana@example.com", "phone": TORONTO, "channels": ["email", "sms"]}
    await store.checkout.accept(TriggerEvent("shopify", "evt-sale", parse_sale(payload), store.clock()))

    def update(status: OrderStatus, key: str, **facts: Any) -> OrderUpdate:
        return OrderUpdate(
            source="shopify",
            event_id=f"evt-{key}",
            store_id=payload["store_id"],
            order_id="WEB-77",
            status=status,
            occurred_at=store.clock(),
            received_at=store.clock(),
            update_key=key,
            **facts,
        )

    cancelled = await lifecycle.apply(update(OrderStatus.CANCELLED, "cancelled", reason=Reason.UNAVAILABLE))
    assert cancelled.deliveries == 2  # the second text of the day
    refunded = await lifecycle.apply(update(OrderStatus.REFUNDED, "refund-1", refund_amount=Decimal("3.49")))
    assert refunded.deliveries == 1  # the email only
    assert len(await store.texts()) == 2
    (skipped,) = await store.audit("order.text_refused")
    assert skipped["channel"] == "sms" and skipped["why"].startswith("This number has had 2 texts")
