"""Asking providers, once, for the status of a message whose final status never came.

Each test sends a real receipt through a provider of the sandbox over loopback (no status callback is
configured, so the delivery stays `sent`), then runs rounds of status checks with a clock the test
moves past `[dispatch] status_check_after_minutes`: nothing sleeps, nothing races.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.outcomes import Fate, set_outcome
from app.sandbox.server import RunningSandbox
from app.services.status_checks import StatusCheckService
from app.storage.models import DeliveryEventRow, DeliveryRow
from tests.conftest import EMAIL_ONLY, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
AFTER = timedelta(minutes=60)
PHONE = "+12175550142"


@dataclass
class MovableClock:
    """Real time plus an offset the test moves: an hour later without waiting an hour."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def runtime_for(tmp_path: Path, sandbox: RunningSandbox, provider: str) -> Runtime:
    channel = Channel.SMS if provider == "twilio" else Channel.EMAIL
    routing = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio", channel: provider}
    base = sandbox_settings(Settings(), sandbox.url, routing=routing)
    dispatch = base.dispatch.model_copy(update={"base_delay_seconds": 0.05, "max_delay_seconds": 0.2})
    settings = base.model_copy(update={"dispatch": dispatch})
    new_database(tmp_path)
    return build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))


@pytest.fixture
async def sent(tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload, request: Any) -> AsyncIterator[Runtime]:
    """A runtime whose one receipt went out through the provider named by the test's `provider`
    parameter and is `sent`, with no callback to come."""
    provider = request.param if hasattr(request, "param") else "twilio"
    rt = runtime_for(tmp_path, sandbox, provider)
    payload = sale_payload()
    if provider == "twilio":
        payload["customer"] = {"phone": PHONE, "channels": ["sms"], "name": "Ana Garcia"}
    else:
        payload["customer"] = dict(EMAIL_ONLY)
    await rt.checkout.accept(TriggerEvent("pos-api", "e1", parse_sale(payload), datetime.now(UTC)))
    rt.start_dispatching()
    try:
        await wait_until(lambda: state_of(rt, DeliveryState.SENT), timeout=30)
        yield rt
    finally:
        await rt.close()


async def delivery(rt: Runtime) -> DeliveryRow:
    return await rt.db.read(lambda s: s.scalars(select(DeliveryRow)).one())


async def state_of(rt: Runtime, state: DeliveryState) -> bool:
    return (await delivery(rt)).state == state.value


async def events(rt: Runtime) -> list[DeliveryEventRow]:
    return await rt.db.read(lambda s: list(s.scalars(select(DeliveryEventRow).order_by(DeliveryEventRow.id))))


def checker(rt: Runtime, clock: MovableClock, **options: Any) -> StatusCheckService:
    return StatusCheckService(rt.db, rt.tracking, rt.adapters, after=AFTER, clock=clock, **options)


DISPLAY = {
    "twilio": "Twilio",
    "mailgun": "Mailgun",
    "postmark": "Postmark",
    "mandrill": "Mandrill",
    "sendgrid": "SendGrid",
}


@pytest.mark.parametrize(
    ("sent", "fate", "state"),
    [
        ("twilio", Fate.DELIVERED, DeliveryState.DELIVERED),
        ("mailgun", Fate.DELIVERED, DeliveryState.DELIVERED),
        ("mailgun", Fate.BOUNCED, DeliveryState.BOUNCED),
        ("postmark", Fate.BOUNCED, DeliveryState.BOUNCED),
        ("mandrill", Fate.DELIVERED, DeliveryState.DELIVERED),
        ("sendgrid", Fate.BOUNCED, DeliveryState.BOUNCED),
    ],
    indirect=["sent"],
)
async def test_a_sent_delivery_without_a_callback_is_settled_by_one_check(
    sent: Runtime, sandbox: RunningSandbox, fate: Fate, state: DeliveryState
) -> None:
    rt = sent
    row = await delivery(rt)
    provider = row.provider
    assert row.provider_message_id is not None
    set_outcome(sandbox.app.state.store, provider, row.provider_message_id, fate)
    clock = MovableClock(AFTER - timedelta(minutes=1))
    service = checker(rt, clock, rate_per_sec=1000.0)
    assert provider in service.providers

    early = await service.run_round()  # quiet for 59 minutes: not yet
    assert early.asked == 0 and (await delivery(rt)).status_checked_at is None

    clock.offset = AFTER + timedelta(minutes=1)
    first = await service.run_round()
    after = await delivery(rt)
    assert first.asked == 1 and first.errors == 0
    assert after.state == state.value and after.status_checked_at is not None
    [event] = [e for e in await events(rt) if e.delivery_id == after.id]
    assert event.provider == provider and event.event_id.startswith("status-check:")
    expected = "delivered" if fate is Fate.DELIVERED else "bounced"
    assert event.detail is not None and event.detail.startswith(f"status checked at {DISPLAY[provider]}: ")
    assert event.detail.removeprefix(f"status checked at {DISPLAY[provider]}: ").startswith(expected)

    assert after.receipt_id is not None  # the timeline (`receipts show`, the API, the manager) says so
    [shown] = (await rt.receipts.get(after.receipt_id)).events[after.id]
    assert (shown.kind, shown.provider, shown.detail) == (event.kind, provider, event.detail)

    again = await service.run_round()  # asked once: never again
    assert again.asked == 0 and len(await events(rt)) == 1


@pytest.mark.parametrize("sent", ["twilio"], indirect=True)
async def test_a_still_sent_answer_is_recorded_and_not_asked_again(sent: Runtime) -> None:
    rt = sent
    assert rt.status_checks is not None and rt.status_checks.running  # started with the dispatcher
    assert rt.status_checks.after == timedelta(minutes=rt.settings.dispatch.status_check_after_minutes)
    service = checker(rt, MovableClock(AFTER + timedelta(minutes=1)))
    report = await service.run_round()
    row = await delivery(rt)
    assert report.asked == 1 and dict(report.answered) == {"accepted": 1}
    assert row.state == "sent" and row.status_checked_at is not None
    [event] = await events(rt)
    assert event.detail == "status checked at Twilio: still sent, no final status yet"
    assert (await service.run_round()).asked == 0


@pytest.mark.parametrize("sent", ["mailgun"], indirect=True)
async def test_a_provider_error_is_asked_again_at_a_later_round(sent: Runtime, sandbox: RunningSandbox) -> None:
    rt = sent
    row = await delivery(rt)
    assert row.provider_message_id is not None
    set_outcome(sandbox.app.state.store, "mailgun", row.provider_message_id, Fate.DELIVERED)
    faults = sandbox.app.state.faults
    faults.configure(error_rate=1.0, error_status=503, providers=["mailgun"])
    service = checker(rt, MovableClock(AFTER + timedelta(minutes=1)))
    first = await service.run_round()
    assert (first.asked, first.errors) == (1, 1)
    assert (await delivery(rt)).status_checked_at is None and await events(rt) == []
    faults.clear()
    second = await service.run_round()
    assert second.asked == 1 and await state_of(rt, DeliveryState.DELIVERED)


@pytest.mark.parametrize("sent", ["twilio"], indirect=True)
async def test_a_provider_that_never_answers_is_given_up_after_max_tries(
    sent: Runtime, sandbox: RunningSandbox
) -> None:
    rt = sent
    sandbox.app.state.faults.configure(error_rate=1.0, error_status=500, providers=["twilio"])
    service = checker(rt, MovableClock(AFTER + timedelta(minutes=1)), max_tries=2)
    assert (await service.run_round()).errors == 1
    last = await service.run_round()
    assert last.given_up == 1
    row = await delivery(rt)
    assert row.state == "sent" and row.status_checked_at is not None
    [event] = await events(rt)
    assert event.detail == "status checked at Twilio: no answer after 2 tries, not asked again"
    assert (await service.run_round()).asked == 0


@pytest.mark.parametrize("sent", ["ses"], indirect=True)
async def test_a_provider_that_cannot_be_asked_is_never_asked(sent: Runtime, sandbox: RunningSandbox) -> None:
    rt = sent
    service = checker(rt, MovableClock(AFTER + timedelta(days=1)))
    assert "ses" not in service.providers and "twilio" in service.providers
    report = await service.run_round()
    assert report.asked == 0 and (await delivery(rt)).status_checked_at is None
