"""The consent ledger and the send gate: a revocation beats every grant, and stops what is queued.

Real SQLite files, the real services, one clock per test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel, Language
from app.domain.consent import (
    OPTED_OUT,
    OPTED_OUT_SENTENCE,
    ChannelGroup,
    ConsentRefused,
    ConsentSource,
    Purpose,
    wording_version,
)
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.keywords import OPT_OUT_CONFIRMATION
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.records import Settlement
from app.rendering.receipts import ReceiptRenderer
from app.rendering.updates import UpdateRenderer
from app.services import consent
from app.services.bus import DeliveryChanged, EventBus
from app.services.checkout import CheckoutResult, CheckoutService
from app.services.consent import ConsentService
from app.services.kiosk import KioskService, ReceiptChoice, SendRequest
from app.services.kiosk.sending import CASHIER
from app.services.kiosk.sending import CUSTOMER_SCREEN as SCREEN
from app.services.lifecycle import LifecycleService
from app.storage import outbox
from app.storage.database import Database
from app.storage.models import AuditRow, ConsentRow, DeliveryRow

Payload = Callable[..., dict[str, Any]]
ROUTING = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio", Channel.WHATSAPP: "twilio_whatsapp"}
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PHONE = "+12175550100"
EMAIL = "ana@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Store:
    """Checkout and the consent service over one database file."""

    def __init__(self, db: Database, sale_payload: Payload) -> None:
        self.db = db
        self.clock = Clock()
        self.bus = EventBus()
        self.changed: list[DeliveryChanged] = []
        self.bus.subscribe(DeliveryChanged, self.changed.append)
        self.checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, self.bus, clock=self.clock)
        self.consent = ConsentService(db, self.bus, clock=self.clock)
        self._payload = sale_payload
        self._sales = 0

    async def sell(self, order_id: str | None = None, **customer: Any) -> CheckoutResult:
        self._sales += 1
        payload = self._payload(f"S-{self._sales}", seed=self._sales)
        payload["customer"] = {"name": "Ana Garcia", **customer}
        if order_id is not None:
            payload["order_id"] = order_id
        self.lane, self.cashier, self.store_id = payload["lane"], payload.get("cashier"), payload["store_id"]
        return await self.checkout.accept(TriggerEvent("pos-api", f"evt-{self._sales}", parse_sale(payload), START))

    async def states(self) -> dict[str, tuple[str, str, str | None]]:
        rows = await self.db.read(
            lambda s: list(
                s.execute(select(DeliveryRow.id, DeliveryRow.channel, DeliveryRow.state, DeliveryRow.reason))
            )
        )
        return {r.id: (r.channel, r.state, r.reason) for r in rows}

    async def audit(self, action: str) -> list[dict[str, Any]]:
        rows = await self.db.read(
            lambda s: list(s.scalars(select(AuditRow.detail).where(AuditRow.action == action).order_by(AuditRow.seq)))
        )
        return [json.loads(r) for r in rows]


@pytest.fixture
def store(db: Database, sale_payload: Payload) -> Store:
    return Store(db, sale_payload)


async def test_a_stop_cancels_queued_texts_and_no_later_text_is_queued_even_after_a_restart(
    store: Store, sale_payload: Payload, tmp_path: Path
) -> None:
    first = await store.sell(phone=PHONE, email=EMAIL, channels=["sms", "email"])
    text_id = next(d.id for d in first.deliveries if d.channel is Channel.SMS)
    email_id = next(d.id for d in first.deliveries if d.channel is Channel.EMAIL)

    assert await store.consent.revoke(PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="twilio")
    assert not await store.consent.revoke(PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="twilio")

    states = await store.states()
    assert states[text_id] == ("sms", DeliveryState.DEAD.value, OPTED_OUT)
    assert states[email_id][1] == DeliveryState.QUEUED.value  # an email is another group
    assert [(c.delivery_id, c.state) for c in store.changed] == [(text_id, DeliveryState.DEAD)]
    revoked = await store.audit("consent.revoked")
    assert revoked[0]["cancelled"] == [text_id] and revoked[0]["contact"] != PHONE
    assert PHONE not in json.dumps(revoked)
    history = await store.consent.history(revoked[0]["customer_id"])
    revocations = [(h.channel, h.purpose, h.source) for h in history if not h.granted]
    assert revocations == [
        (channel, purpose, ConsentSource.STOP_REPLY.value)
        for channel in (Channel.SMS, Channel.WHATSAPP)
        for purpose in Purpose
    ]

    # A restart: another Database over the same file knows the opt-out.
    url = str(store.db.write_engine.url)
    again = Database(url)
    try:
        later = Store(again, sale_payload)
        later._sales = 10
        result = await later.sell(phone=PHONE, email=EMAIL, channels=["sms", "email"])
        assert [d.channel for d in result.deliveries] == [Channel.EMAIL]
        assert result.warnings == (OPTED_OUT_SENTENCE[ChannelGroup.TEXT],)
        refused = await later.audit("receipt.created")
        assert refused[-1]["consent_refused"] == list(result.warnings)

        # START resumes.
        assert await later.consent.restore(
            PHONE, ChannelGroup.TEXT, via=ConsentSource.START_REPLY, actor="twilio", text_shown="START"
        )
        resumed = await later.sell(phone=PHONE, channels=["sms"])
        assert [d.channel for d in resumed.deliveries] == [Channel.SMS]
        assert (await later.audit("consent.restored"))[0]["lifted"] is True
    finally:
        again.close()


async def test_an_email_opt_out_stops_email_receipts_but_not_texts(store: Store) -> None:
    assert await store.consent.revoke(EMAIL, ChannelGroup.EMAIL, via=ConsentSource.EMAIL_LINK, actor="email")
    result = await store.sell(phone=PHONE, email=EMAIL.upper(), channels=["sms", "email"])
    assert [d.channel for d in result.deliveries] == [Channel.SMS]
    assert result.warnings == (OPTED_OUT_SENTENCE[ChannelGroup.EMAIL],)


async def test_revoking_inside_a_callers_unit_of_work_rolls_back_with_it(store: Store) -> None:
    await store.sell(phone=PHONE, channels=["sms"])

    def fails(session: Any) -> None:
        consent.revoke(session, PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="twilio", now=START)
        raise RuntimeError("the caller's own write failed")

    with pytest.raises(RuntimeError):
        await store.db.write(fails)
    assert not await store.consent.opted_out(PHONE, ChannelGroup.TEXT)
    assert {state for _, state, _ in (await store.states()).values()} == {DeliveryState.QUEUED.value}


async def test_revoking_order_updates_only_keeps_receipts(store: Store) -> None:
    await store.sell(phone=PHONE, channels=["sms"])
    newly = await store.consent.revoke(
        PHONE, ChannelGroup.TEXT, via=ConsentSource.MANAGER, actor="maria", purpose=Purpose.ORDER_UPDATES
    )
    assert newly and not await store.consent.opted_out(PHONE, ChannelGroup.TEXT)
    assert {state for _, state, _ in (await store.states()).values()} == {DeliveryState.QUEUED.value}
    again = await store.sell(phone=PHONE, channels=["sms"])
    assert [d.channel for d in again.deliveries] == [Channel.SMS]


def kiosk(store: Store) -> KioskService:
    return KioskService(store.db, ROUTING, store.bus, clock=store.clock)


async def ledger(store: Store) -> list[ConsentRow]:
    return await store.db.read(lambda s: list(s.scalars(select(ConsentRow).order_by(ConsentRow.id))))


async def test_every_grant_source_lands_in_the_ledger_with_its_words_and_where(store: Store) -> None:
    sold = await store.sell(phone=PHONE, email=EMAIL, channels=["sms", "email"], order_id="WEB-1")
    shown = "By tapping \u201cI agree, send it\u201d you ask the store to text this receipt. Reply STOP to stop."
    on_screen = SendRequest(ReceiptChoice.SMS, phone=PHONE, consent_text=shown, language=Language.ES, source=SCREEN)
    await kiosk(store).send(sold.receipt_id, on_screen)
    await kiosk(store).send(sold.receipt_id, SendRequest(ReceiptChoice.EMAIL, email=EMAIL, source=CASHIER))
    rows = await ledger(store)
    assert [(r.source, r.channel, r.purpose, r.contact, r.language) for r in rows] == [
        ("register", "sms", "receipts", PHONE, "en"),
        ("register", "sms", "order_updates", PHONE, "en"),
        ("register", "email", "receipts", EMAIL, "en"),
        ("register", "email", "order_updates", EMAIL, "en"),
        ("customer_screen", "sms", "receipts", PHONE, "es"),
        ("customer_screen", "sms", "order_updates", PHONE, "es"),
        ("cashier", "email", "receipts", EMAIL, "en"),
        ("cashier", "email", "order_updates", EMAIL, "en"),
    ]
    assert all(r.granted and r.text_version == wording_version(r.text_shown) for r in rows)
    lane = store.lane
    assert {r.lane for r in rows} == {lane}
    assert rows[4].text_shown == shown and rows[4].staff is None
    assert rows[0].staff == rows[6].staff == store.cashier  # the register's and the cashier's grants name them


async def test_the_customer_screen_lifts_a_stop_and_the_cashier_cannot(store: Store) -> None:
    sold = await store.sell(email=EMAIL, channels=["email"])
    await store.consent.revoke(PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="twilio")
    ticked = SendRequest(ReceiptChoice.SMS, phone=PHONE, consent_text="Asked the cashier.", source=CASHIER)
    with pytest.raises(ConsentRefused) as refused:
        await kiosk(store).send(sold.receipt_id, ticked)
    assert refused.value.message == OPTED_OUT_SENTENCE[ChannelGroup.TEXT]
    assert await store.consent.opted_out(PHONE, ChannelGroup.TEXT)
    tapped = SendRequest(ReceiptChoice.SMS, phone=PHONE, consent_text="I agree, text me.", source=SCREEN)
    outcome = await kiosk(store).send(sold.receipt_id, tapped)
    assert [d.channel for d in outcome.deliveries] == [Channel.SMS]
    assert not await store.consent.opted_out(PHONE, ChannelGroup.TEXT)
    assert [r["via"] for r in await store.audit("consent.restored")] == ["customer_screen"]


async def test_order_updates_stop_at_an_opt_out_and_at_a_revocation_of_order_updates(store: Store) -> None:
    await store.sell(phone=PHONE, email=EMAIL, channels=["sms", "email"], order_id="WEB-1")
    updates = LifecycleService(store.db, UpdateRenderer(), DEMO_PROFILE, ROUTING, store.bus, clock=store.clock)

    def shipped(n: int) -> OrderUpdate:
        at = store.clock()
        return OrderUpdate(
            source="shopify",
            event_id=f"e{n}",
            store_id=store.store_id,
            order_id="WEB-1",
            status=OrderStatus.SHIPPED,
            occurred_at=at,
            received_at=at,
            update_key=f"shipped-{n}",
        )

    await store.consent.revoke(EMAIL, ChannelGroup.EMAIL, via=ConsentSource.EMAIL_LINK, actor="email")
    assert (await updates.apply(shipped(1))).deliveries == 1  # the text only
    await store.consent.revoke(
        PHONE, ChannelGroup.TEXT, via=ConsentSource.MANAGER, actor="maria", purpose=Purpose.ORDER_UPDATES
    )
    assert (await updates.apply(shipped(2))).deliveries == 0
    refused = await store.audit("order.text_refused")
    assert refused[0]["why"] == OPTED_OUT_SENTENCE[ChannelGroup.EMAIL]
    assert "The customer stopped order updates on this channel." in [r["why"] for r in refused[1:]]
    assert (await store.sell(phone=PHONE, channels=["sms"])).deliveries  # receipts still go


async def test_a_text_in_flight_at_the_stop_is_not_retried_after_it(store: Store) -> None:
    sale = await store.sell(phone=PHONE, channels=["sms"])
    text_id = sale.deliveries[0].id
    now = store.clock()

    def claim(s: Any) -> list[outbox.ClaimedDelivery]:
        return outbox.claim_due(
            s, owner="w", now=store.clock(), lease=timedelta(minutes=1), limit=10, skip_locked=False
        )

    (claimed,) = await store.db.write(claim)  # in the provider's hands when the STOP arrives: left alone
    assert await store.consent.revoke(PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="twilio")
    assert (await store.states())[text_id][1] == DeliveryState.SENDING.value

    def timed_out(s: Any) -> list[Settlement]:  # the provider did not answer: due again for a retry
        settled = Settlement(
            text_id, claimed.attempt, "twilio", now, now, "transient", DeliveryState.QUEUED, now, error="timeout"
        )
        return outbox.settle(s, [settled])

    assert await store.db.write(timed_out)
    assert await store.db.write(claim) == []  # the retry finds the opt-out
    assert (await store.states())[text_id] == ("sms", DeliveryState.DEAD.value, OPTED_OUT)

    # The STOP's own confirmation goes to the number that stopped, retries included.
    def confirmation(s: Any) -> str:
        d = outbox.new_delivery(
            s,
            receipt_id=None,
            channel=Channel.SMS,
            provider="twilio",
            recipient=PHONE,
            now=now,
            context={"text": "You will get no more texts.", "metadata": {"kind": OPT_OUT_CONFIRMATION}},
        )
        s.execute(update(DeliveryRow).where(DeliveryRow.id == d.id).values(attempts=1))
        return d.id

    confirmation_id = await store.db.write(confirmation)
    assert [c.id for c in await store.db.write(claim)] == [confirmation_id]
