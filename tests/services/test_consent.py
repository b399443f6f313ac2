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
from sqlalchemy import select

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.consent import OPTED_OUT_SENTENCE, ChannelGroup, ConsentSource, Purpose
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.services import consent
from app.services.bus import DeliveryChanged, EventBus
from app.services.checkout import CheckoutResult, CheckoutService
from app.services.consent import OPTED_OUT, ConsentService
from app.storage.database import Database
from app.storage.models import AuditRow, DeliveryRow

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

    async def sell(self, **customer: Any) -> CheckoutResult:
        self._sales += 1
        payload = self._payload(f"S-{self._sales}", seed=self._sales)
        payload["customer"] = {"name": "Ana Garcia", **customer}
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
