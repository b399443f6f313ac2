"""The dispatcher against the real sandbox over loopback HTTP, with injected faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.demo.wiring import sandbox_secrets
from app.domain.channels import Channel
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.records import Settlement
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.services.dispatch import Dispatcher
from app.storage import audit, outbox
from app.storage.models import AttemptRow, DeliveryRow
from tests.conftest import EMAIL_ONLY, drained, fast_settings, wait_until

Payload = Callable[..., dict[str, Any]]


async def post(rt: Runtime, payload: dict[str, Any], event_id: str) -> str:
    result = await rt.checkout.accept(TriggerEvent("pos-api", event_id, parse_sale(payload), datetime.now(UTC)))
    return result.receipt_id


async def states(rt: Runtime) -> dict[str, int]:
    return (await rt.receipts.queue_status()).by_state


def with_email(payload: dict[str, Any]) -> dict[str, Any]:
    payload["customer"] = dict(EMAIL_ONLY)
    return payload


async def test_deliveries_reach_the_sandbox_and_are_recorded(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    payload = sale_payload(with_customer=True)
    payload["customer"] = {"email": "ana@example.com", "phone": "+12175550142", "channels": ["email", "sms"]}
    receipt_id = await post(runtime, payload, "e1")
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    detail = await runtime.receipts.get(receipt_id)
    assert {d.state for d in detail.deliveries} == {DeliveryState.SENT}
    assert all(d.provider_message_id for d in detail.deliveries)
    store = sandbox.app.state.store
    sms = store.messages(provider="twilio")[0]
    email = store.messages(provider="sendgrid")[0]
    assert sms.to == ("+12175550142",) and sms.body == detail.sms_body
    assert email.to == ("ana@example.com",) and email.subject == detail.subject
    assert email.custom_args["receiptdesk_key"] == next(
        f"rd-{d.id}" for d in detail.deliveries if d.channel.value == "email"
    )


async def test_throttling_is_retried_after_the_providers_retry_after(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    faults = sandbox.app.state.faults
    # Every send waits at the sandbox: the first is let go into the throttle, the retry only once
    # the throttle is off, however long the machine takes between the two.
    faults.configure(throttle_rate=1.0, retry_after=1, hold=True)
    receipt_id = await post(runtime, with_email(sale_payload()), "e1")
    runtime.start_dispatching()
    await wait_until(lambda: faults.held == 1, timeout=30)
    faults.release()
    await wait_until(lambda: runtime.db.read(lambda s: s.scalar(select(AttemptRow.id))), timeout=30)
    faults.clear()
    await wait_until(lambda: drained(runtime), timeout=30)
    detail = await runtime.receipts.get(receipt_id)
    attempts = detail.attempts[detail.deliveries[0].id]
    assert [a.outcome for a in attempts] == ["transient", "sent"]
    assert attempts[0].status_code == 429
    assert (attempts[1].started_at - attempts[0].finished_at) >= timedelta(seconds=0.95)
    assert len(sandbox.app.state.store.messages()) == 1


async def test_server_errors_are_retried_with_the_same_idempotency_key(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    sandbox.app.state.faults.configure(error_rate=1.0, error_status=503)
    await post(runtime, with_email(sale_payload()), "e1")
    runtime.start_dispatching()
    failed = select(AttemptRow).where(AttemptRow.outcome == "transient")
    await wait_until(lambda: runtime.db.read(lambda s: len(s.scalars(failed).all()) >= 2))
    sandbox.app.state.faults.clear()
    await wait_until(lambda: drained(runtime))
    delivery = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
    assert delivery.state == "sent" and delivery.attempts >= 3
    [message] = sandbox.app.state.store.messages()
    assert message.custom_args["receiptdesk_key"] == delivery.idempotency_key


async def test_permanent_refusal_is_not_retried(tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload) -> None:
    wrong = {**sandbox_secrets(sandbox.url), "sendgrid": {"api_key": "not-the-key"}}
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path, secrets=wrong)
    try:
        await post(rt, with_email(sale_payload()), "e1")
        rt.start_dispatching()
        await wait_until(lambda: drained(rt))
        delivery = await rt.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
        assert delivery.state == "failed" and delivery.attempts == 1
        assert "401" in (delivery.last_error or "") and "not-the-key" not in (delivery.last_error or "")
        health = await rt.health.check()
        assert {p.provider: p.state for p in health.providers}["sendgrid"] == "failing"
        assert not health.ok
    finally:
        await rt.close()


async def test_a_long_outage_ends_in_dead_letter_and_a_manager_retry_revives_it(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    rt = build_runtime(fast_settings(sandbox.url, max_attempts=3), data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    try:
        sandbox.app.state.faults.configure(outage_seconds=60)
        await post(rt, with_email(sale_payload()), "e1")
        rt.start_dispatching()
        await wait_until(lambda: drained(rt))
        delivery = await rt.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
        assert delivery.state == "dead" and delivery.attempts == 3 and "3 attempts" in (delivery.reason or "")
        sandbox.app.state.faults.clear()
        assert await rt.receipts.retry(actor="test") == 1
        await wait_until(lambda: drained(rt))
        assert (await states(rt)) == {"sent": 1}
        assert (await rt.receipts.verify_audit()).ok
    finally:
        await rt.close()


async def test_every_attempt_is_audited_with_its_outcome_and_the_recipient_masked(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    sandbox.app.state.faults.configure(error_rate=1.0, error_status=400)
    receipt_id = await post(runtime, with_email(sale_payload()), "e1")
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    sandbox.app.state.faults.clear()
    assert await runtime.receipts.retry(actor="test") == 1
    await wait_until(lambda: drained(runtime))
    entries = await runtime.db.read(lambda s: audit.recent(s, action="delivery.attempt"))
    [delivery] = (await runtime.receipts.get(receipt_id)).deliveries
    found = [
        (e.subject, e.actor, e.detail["number"], e.detail["outcome"], e.detail["status_code"], e.detail["state"])
        for e in reversed(entries)
    ]
    assert found == [
        (delivery.id, "dispatcher", 1, "permanent", 400, "failed"),
        (delivery.id, "dispatcher", 2, "sent", None, "sent"),
    ]
    assert {e.detail["to"] for e in entries} == {mask_contact(delivery.recipient)}
    assert all(e.detail["provider"] == "sendgrid" and e.detail["receipt_id"] == receipt_id for e in entries)
    assert delivery.recipient not in json.dumps([e.detail for e in entries])
    assert (await runtime.receipts.verify_audit()).ok


async def test_a_timeout_leaves_the_outcome_unknown_then_it_is_tried_again(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    rt.http.timeout = httpx.Timeout(0.2)
    try:
        sandbox.app.state.faults.configure(hold=True)  # the provider never answers: the send times out
        await post(rt, with_email(sale_payload()), "e1")
        rt.start_dispatching()
        await wait_until(
            lambda: rt.db.read(lambda s: s.scalar(select(AttemptRow.outcome)) not in (None, "sending")), timeout=30
        )
        first = await rt.db.read(lambda s: s.scalars(select(AttemptRow)).first())
        assert first is not None and first.outcome == "unknown"
        sandbox.app.state.faults.clear()
        await wait_until(lambda: drained(rt))
        assert (await states(rt)) == {"sent": 1}
    finally:
        await rt.close()


async def test_an_expired_lease_is_claimed_again(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    await post(runtime, with_email(sale_payload()), "e1")
    start = datetime.now(UTC)
    # a worker that claims and then dies: nothing settles its claim
    claimed = await runtime.db.write(
        lambda s: outbox.claim_due(
            s, owner="dead-worker", now=start, lease=timedelta(seconds=1), limit=10, skip_locked=False
        )
    )
    assert len(claimed) == 1
    assert (
        await runtime.db.write(
            lambda s: outbox.claim_due(
                s, owner="other", now=start, lease=timedelta(seconds=1), limit=10, skip_locked=False
            )
        )
        == []
    )
    later = Dispatcher(
        runtime.db, runtime.adapters, runtime.bus, clock=lambda: datetime.now(UTC) + timedelta(seconds=2)
    )
    later.start()
    try:
        await wait_until(lambda: runtime.db.read(lambda s: s.scalars(select(DeliveryRow.state)).one() == "sent"))
    finally:
        await later.stop()
    delivery = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
    assert delivery.attempts == 2
    # the dead worker's late settlement does not land on the new claim
    stale = Settlement(
        claimed[0].id, claimed[0].attempt, "sendgrid", start, start, "transient", DeliveryState.QUEUED, start
    )
    assert await runtime.db.write(lambda s: outbox.settle(s, [stale])) == []


async def test_resend_reuses_the_snapshot_and_is_audited(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    receipt_id = await post(runtime, with_email(sale_payload()), "e1")
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    await runtime.receipts.resend(
        receipt_id, Channel.EMAIL, "Fixed.Address@example.com", reason="typo at the till", actor="manager"
    )
    await wait_until(lambda: drained(runtime))
    first, second = sandbox.app.state.store.messages()
    assert second.to == ("Fixed.Address@example.com",)
    # The same snapshot; only the last paragraph, each address's own unsubscribe line, differs.
    assert first.text and second.text and first.text != second.text
    assert first.text.rsplit("\n\n", 1)[0] == second.text.rsplit("\n\n", 1)[0]
    entries = await runtime.db.read(lambda s: audit.recent(s, action="receipt.resent"))
    assert entries[0].actor == "manager" and entries[0].detail["reason"] == "typo at the till"


async def test_a_claim_takes_the_deliveries_due_first_whatever_their_state(runtime: Runtime) -> None:
    start = datetime.now(UTC)
    made = await runtime.db.write(
        lambda s: [
            outbox.new_delivery(
                s, receipt_id=None, channel=Channel.SMS, provider="twilio", recipient=f"+1217555{n:04d}", now=start
            )
            for n in range(6)
        ]
    )
    # due at -5..0 minutes: a queued, an unknown (a timeout) and a sending one whose lease ran out, in turn
    plan = [
        (d.id, ("queued", "unknown", "sending")[n % 3], start - timedelta(minutes=5 - n)) for n, d in enumerate(made)
    ]

    def arrange(session: Any) -> None:
        for delivery_id, state, due in plan:
            row = session.get(DeliveryRow, delivery_id)
            row.state, row.next_attempt_at, row.attempts = state, due, 0 if state == "queued" else 1

    await runtime.db.write(arrange)
    claimed = await runtime.db.write(
        lambda s: outbox.claim_due(s, owner="o", now=start, lease=timedelta(seconds=60), limit=4, skip_locked=False)
    )
    assert [c.id for c in claimed] == [delivery_id for delivery_id, _, _ in plan[:4]]


async def test_a_stop_whose_last_wake_up_also_brings_a_batch_still_ends(runtime: Runtime) -> None:
    """The settler ends once the sends are over and nothing waits, even when the stop's wake-up is the one
    that brought the last settlements (a close during a drain hung there, about every other time)."""
    dispatcher = Dispatcher(runtime.db, runtime.adapters, runtime.bus)
    written: list[list[Any]] = []

    async def write(batch: list[Any]) -> None:
        written.append(batch)

    dispatcher._write_settlements = write  # type: ignore[method-assign]  # the wake-ups are the point here
    settler = asyncio.ensure_future(dispatcher._settle_loop())
    dispatcher._settled.append(("claim", "settlement"))  # type: ignore[arg-type]  # a send ended as the stop came
    dispatcher._sends_over = True
    dispatcher._settle_ready.set()  # one wake-up for both
    await asyncio.wait_for(settler, 10)
    assert written == [[("claim", "settlement")]]
