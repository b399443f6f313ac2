"""Exactly one receipt, or a visible and explained duplicate: attempts in doubt after a crash.

A crash here is a runtime abandoned mid-send: its dispatcher's tasks are cancelled (nothing it holds
is settled or handed back, as when its process is killed) and a new runtime opens the same database
file with its clock past the lease. The sandbox's fault points decide what the provider saw: a held
answer (it took the message), a held request dropped on release (it never arrived).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.demo.wiring import sandbox_secrets
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.doubt import DEFAULT_IN_DOUBT, InDoubtPolicy, Lookup
from app.domain.errors import NotFound, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.message import OutboundMessage
from app.domain.records import ClaimedDelivery, Settlement
from app.main import Runtime, build_runtime
from app.providers.base import HttpRequest, ProviderAdapter
from app.providers.sendgrid import SendGridAdapter
from app.sandbox.server import RunningSandbox
from app.services.dispatch import Dispatcher
from app.storage import audit, outbox
from app.storage.models import AttemptRow, DeliveryRow
from tests.conftest import EMAIL_ONLY, LEASE, fast_settings, wait_until

Payload = Callable[..., dict[str, Any]]
PHONE = "+12175550142"


@dataclass
class MovableClock:
    """Real time plus an offset the test moves: a new process's clock past an old lease."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class SendGridThatCannotBeAsked(SendGridAdapter):
    """SendGrid without its Email Activity add-on: it sends to the sandbox as SendGrid does, and cannot
    say whether it took a message. It stands for a provider that cannot be asked, whatever the
    providers that can be asked look like."""

    lookup_doc = None

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        return None


def cannot_be_asked(adapter: ProviderAdapter) -> SendGridThatCannotBeAsked:
    """The runtime's SendGrid adapter (its client, key and sender), unable to be asked."""
    assert isinstance(adapter, SendGridAdapter)
    copy = SendGridThatCannotBeAsked.__new__(SendGridThatCannotBeAsked)
    copy.__dict__.update(vars(adapter))
    return copy


def new_runtime(tmp_path: Path, sandbox: RunningSandbox, **dispatch: Any) -> Runtime:
    return build_runtime(fast_settings(sandbox.url, **dispatch), data=tmp_path, secrets=sandbox_secrets(sandbox.url))


async def post(rt: Runtime, payload: dict[str, Any], event_id: str = "e1") -> str:
    result = await rt.checkout.accept(TriggerEvent("pos-api", event_id, parse_sale(payload), datetime.now(UTC)))
    return result.receipt_id


def email_sale(sale_payload: Payload) -> dict[str, Any]:
    payload = sale_payload()
    payload["customer"] = dict(EMAIL_ONLY)
    return payload


def text_sale(sale_payload: Payload) -> dict[str, Any]:
    payload = sale_payload()
    payload["customer"] = {"phone": PHONE, "channels": ["sms"], "name": "Ana Garcia"}
    return payload


async def crash(rt: Runtime) -> None:
    """Stop `rt` as a killed process stops: no settlement written, no claim handed back."""
    dispatcher = rt.dispatcher
    tasks = [
        t
        for t in (dispatcher._loop_task, dispatcher._settler_task, dispatcher._renew_task, *dispatcher._tasks)
        if t is not None
    ]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    dispatcher._loop_task = None  # nothing left for close() to stop
    dispatcher._tasks.clear()
    await rt.close()


async def crashed_after_the_request(tmp_path: Path, sandbox: RunningSandbox, payload: dict[str, Any]) -> None:
    """A runtime posts `payload` and dies while the provider holds its answer: the message was taken, and
    the sandbox's faults are clear again for what follows."""
    faults = sandbox.app.state.faults
    faults.configure(hold_answers=True)  # the provider takes the message; the answer never reaches the dead process
    first = new_runtime(tmp_path, sandbox)
    await post(first, payload)
    first.start_dispatching()
    await wait_until(lambda: faults.answers_held == 1, timeout=30)
    await crash(first)
    faults.clear()


async def attempts(rt: Runtime) -> list[AttemptRow]:
    return await rt.db.read(lambda s: list(s.scalars(select(AttemptRow).order_by(AttemptRow.number))))


async def delivery(rt: Runtime) -> DeliveryRow:
    return await rt.db.read(lambda s: s.scalars(select(DeliveryRow)).one())


async def open_attempt(rt: Runtime) -> bool:
    return [a.outcome for a in await attempts(rt)] == ["sending"]


def later(
    rt: Runtime,
    *,
    adapters: Mapping[str, ProviderAdapter] | None = None,
    in_doubt: Mapping[Channel, InDoubtPolicy] = DEFAULT_IN_DOUBT,
    clock: MovableClock | None = None,
) -> Dispatcher:
    """The new process's dispatcher: its clock past the dead worker's lease."""
    return Dispatcher(
        rt.db,
        adapters if adapters is not None else rt.adapters,
        rt.bus,
        clock=clock or MovableClock(LEASE + timedelta(seconds=1)),
        in_doubt=in_doubt,
        owner="after-the-crash",
    )


async def in_state(rt: Runtime, state: DeliveryState) -> bool:
    return (await delivery(rt)).state == state.value


async def settled_entries(rt: Runtime, action: str = "delivery.in_doubt_settled") -> list[dict[str, Any]]:
    return [e.detail for e in await rt.db.read(lambda s: audit.recent(s, action=action))]


async def test_the_attempt_is_written_before_the_request_leaves(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    faults = sandbox.app.state.faults
    faults.configure(hold=True)
    await post(runtime, email_sale(sale_payload))
    runtime.start_dispatching()
    await wait_until(lambda: faults.held == 1, timeout=30)
    [intent] = await attempts(runtime)
    row = await delivery(runtime)
    assert (intent.number, intent.outcome, intent.provider, intent.finished_at) == (1, "sending", "sendgrid", None)
    assert row.state == "sending" and row.attempts == 1
    faults.release()
    await wait_until(lambda: in_state(runtime, DeliveryState.SENT), timeout=30)
    [sent] = await attempts(runtime)
    assert (sent.id, sent.outcome, sent.possible_duplicate) == (intent.id, "sent", False)
    assert sent.finished_at is not None and sent.provider_message_id == (await delivery(runtime)).provider_message_id


async def test_a_crash_after_the_provider_took_it_is_found_by_lookup_and_not_sent_again(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    store = sandbox.app.state.store
    await crashed_after_the_request(tmp_path, sandbox, text_sale(sale_payload))
    rt = new_runtime(tmp_path, sandbox)
    dispatcher = later(rt)
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(rt, DeliveryState.SENT), timeout=30)
    finally:
        await dispatcher.stop()
        await rt.close()
    rt = new_runtime(tmp_path, sandbox)
    try:
        [message] = store.messages(provider="twilio")
        [attempt] = await attempts(rt)
        assert (attempt.outcome, attempt.settled_by, attempt.provider_message_id) == (
            "sent",
            "lookup_found",
            message.id,
        )
        assert attempt.settled_at is not None and not attempt.possible_duplicate
        row = await delivery(rt)
        assert (row.provider_message_id, row.attempts) == (message.id, 1)
        [entry] = await settled_entries(rt)
        assert entry == {"number": 1, "provider": "twilio", "how": "lookup_found", "provider_message_id": message.id}
        assert (await rt.receipts.verify_audit()).ok
    finally:
        await rt.close()


async def test_a_crash_before_the_request_arrived_is_not_found_and_sent_once(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    faults, store = sandbox.app.state.faults, sandbox.app.state.store
    faults.configure(hold=True)
    first = new_runtime(tmp_path, sandbox)
    await post(first, text_sale(sale_payload))
    first.start_dispatching()
    await wait_until(lambda: faults.held == 1, timeout=30)
    await crash(first)
    faults.configure(release="drop", hold=False)  # the request never reached Twilio
    rt = new_runtime(tmp_path, sandbox)
    dispatcher = later(rt)
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(rt, DeliveryState.SENT), timeout=30)
        await dispatcher.stop()
        [message] = store.messages(provider="twilio")
        doubt, resent = await attempts(rt)
        assert (doubt.number, doubt.outcome, doubt.settled_by) == (1, "in_doubt", "lookup_not_found")
        assert (resent.number, resent.outcome, resent.possible_duplicate) == (2, "sent", False)
        assert resent.provider_message_id == message.id
        assert [e["how"] for e in await settled_entries(rt)] == ["lookup_not_found"]
    finally:
        await dispatcher.stop()
        await rt.close()


async def test_a_provider_that_cannot_tell_yet_is_asked_again_later_and_nothing_is_sent_meanwhile(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    faults, store = sandbox.app.state.faults, sandbox.app.state.store
    await crashed_after_the_request(tmp_path, sandbox, text_sale(sale_payload))
    faults.configure(error_rate=1.0, error_status=503)  # Twilio's message list fails: the lookup cannot tell
    rt = new_runtime(tmp_path, sandbox)
    clock = MovableClock(LEASE + timedelta(seconds=1))
    dispatcher = later(rt, clock=clock)
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(rt, DeliveryState.UNKNOWN), timeout=30)
        row = await delivery(rt)
        [attempt] = await attempts(rt)
        assert (attempt.outcome, attempt.settled_by) == ("in_doubt", None)
        assert row.attempts == 1  # asking is no send
        assert row.next_attempt_at > clock()
        assert len(store.messages(provider="twilio")) == 1
        faults.clear()
        clock.offset += timedelta(hours=1)
        dispatcher.wake()
        await wait_until(lambda: in_state(rt, DeliveryState.SENT), timeout=30)
        [attempt] = await attempts(rt)
        assert attempt.settled_by == "lookup_found"
        assert len(store.messages(provider="twilio")) == 1
    finally:
        await dispatcher.stop()
        await rt.close()


async def test_resend_policy_sends_again_and_marks_a_possible_duplicate(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    store = sandbox.app.state.store
    await crashed_after_the_request(tmp_path, sandbox, email_sale(sale_payload))
    rt = new_runtime(tmp_path, sandbox)
    adapters = {**rt.adapters, "sendgrid": cannot_be_asked(rt.adapters["sendgrid"])}
    dispatcher = later(rt, adapters=adapters, in_doubt={**DEFAULT_IN_DOUBT, Channel.EMAIL: InDoubtPolicy.RESEND})
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(rt, DeliveryState.SENT), timeout=30)
        await dispatcher.stop()
        assert len(store.messages(provider="sendgrid")) == 2  # the duplicate is real, and visible
        doubt, resent = await attempts(rt)
        assert (doubt.outcome, doubt.settled_by) == ("in_doubt", "resent_possible_duplicate")
        assert (resent.number, resent.outcome, resent.possible_duplicate) == (2, "sent", True)
        assert await rt.receipts.possible_duplicates(datetime.now(UTC) - timedelta(days=1)) == {"sendgrid": 1}
        assert await rt.receipts.possible_duplicates(datetime.now(UTC) + timedelta(hours=2)) == {}
        [entry] = await settled_entries(rt)
        assert entry == {"number": 1, "provider": "sendgrid", "how": "resent_possible_duplicate"}
    finally:
        await dispatcher.stop()
        await rt.close()


async def held_after_a_crash(tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload) -> tuple[Runtime, str]:
    """A delivery left in doubt by a crash, its provider unable to be asked, held by the channel's policy."""
    await crashed_after_the_request(tmp_path, sandbox, email_sale(sale_payload))
    rt = new_runtime(tmp_path, sandbox)
    adapters = {**rt.adapters, "sendgrid": cannot_be_asked(rt.adapters["sendgrid"])}
    dispatcher = later(rt, adapters=adapters, in_doubt={**DEFAULT_IN_DOUBT, Channel.EMAIL: InDoubtPolicy.HOLD})
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(rt, DeliveryState.HELD), timeout=30)
    finally:
        await dispatcher.stop()
    row = await delivery(rt)
    return rt, row.id


async def test_hold_policy_holds_it_for_a_manager_who_sends_it(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    rt, delivery_id = await held_after_a_crash(tmp_path, sandbox, sale_payload)
    store = sandbox.app.state.store
    try:
        assert len(store.messages(provider="sendgrid")) == 1
        [attempt] = await attempts(rt)
        assert (attempt.outcome, attempt.settled_by) == ("in_doubt", "held")
        [held] = await rt.receipts.held()
        assert (held.id, held.channel, held.provider) == (delivery_id, Channel.EMAIL, "sendgrid")
        assert held.recipient != EMAIL_ONLY["email"] and "@" in held.recipient
        assert await rt.receipts.held_count() == 1
        assert [e["provider"] for e in await settled_entries(rt, "delivery.held")] == ["sendgrid"]
        with pytest.raises(NotFound):
            await rt.receipts.send_held("no-such-delivery", actor="ana")
        await rt.receipts.send_held(delivery_id, actor="ana")
        with pytest.raises(ValidationFailed):
            await rt.receipts.send_held(delivery_id, actor="ana")
        assert (await delivery(rt)).state == "queued"
        rt.start_dispatching()
        await wait_until(lambda: in_state(rt, DeliveryState.SENT), timeout=30)
        held_attempt, resent = await attempts(rt)
        assert (held_attempt.settled_by, held_attempt.settled_actor) == ("sent_by_manager", "ana")
        assert (resent.number, resent.outcome, resent.possible_duplicate) == (2, "sent", True)
        assert len(store.messages(provider="sendgrid")) == 2
        entries = await rt.db.read(lambda s: audit.recent(s, action="delivery.in_doubt_settled"))
        assert (entries[0].actor, entries[0].detail["how"]) == ("ana", "sent_by_manager")
        assert await rt.receipts.held() == []
        assert (await rt.receipts.verify_audit()).ok
    finally:
        await rt.close()


async def test_hold_policy_holds_it_for_a_manager_who_drops_it(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    rt, delivery_id = await held_after_a_crash(tmp_path, sandbox, sale_payload)
    try:
        with pytest.raises(ValidationFailed):
            await rt.receipts.drop_held(delivery_id, actor="ana", reason="  ")
        await rt.receipts.drop_held(delivery_id, actor="ana", reason="the customer has it")
        row = await delivery(rt)
        assert (row.state, row.reason) == ("dead", "Dropped by ana: the customer has it")
        [attempt] = await attempts(rt)
        assert (attempt.settled_by, attempt.settled_actor) == ("dropped", "ana")
        with pytest.raises(ValidationFailed):
            await rt.receipts.drop_held(delivery_id, actor="ana", reason="again")
        with pytest.raises(NotFound):
            await rt.receipts.drop_held("no-such-delivery", actor="ana", reason="x")
        assert len(sandbox.app.state.store.messages(provider="sendgrid")) == 1
        assert await rt.receipts.held_count() == 0
    finally:
        await rt.close()


async def claim(rt: Runtime, owner: str, now: datetime) -> list[ClaimedDelivery]:
    return await rt.db.write(
        lambda s: outbox.claim_due(s, owner=owner, now=now, lease=LEASE, limit=10, skip_locked=False)
    )


async def test_a_claim_writes_its_attempt_and_a_late_settlement_of_a_taken_over_one_moves_nothing(
    runtime: Runtime, sale_payload: Payload
) -> None:
    await post(runtime, email_sale(sale_payload))
    start = datetime.now(UTC)
    [old] = await claim(runtime, "old", start)
    assert old.recorded and old.doubt is None
    [intent] = await attempts(runtime)
    assert (intent.number, intent.outcome, intent.provider, intent.started_at) == (1, "sending", "sendgrid", start)
    later_on = start + LEASE + timedelta(seconds=1)
    [new] = await claim(runtime, "new", later_on)
    assert not new.recorded and new.doubt is not None
    assert (new.attempt, new.doubt.number, new.doubt.outcome, new.doubt.provider) == (2, 1, "in_doubt", "sendgrid")
    # the old worker, late: its lease renewal misses the fence, and so would an intent of its claim
    assert await runtime.db.write(lambda s: outbox.renew(s, [(old.id, 1)], owner="old", until=later_on + LEASE)) == 0
    stale = outbox.Intent(old.id, 1, "sendgrid", start, "old")
    assert await runtime.db.write(lambda s: outbox.record_intent(s, [stale])) == []
    late = Settlement(
        old.id, 1, "sendgrid", start, later_on, "sent", DeliveryState.SENT, None, provider_message_id="m1"
    )
    assert await runtime.db.write(lambda s: outbox.settle(s, [late])) == []
    row = await delivery(runtime)
    assert (row.state, row.attempts, row.lease_owner, row.provider_message_id) == ("sending", 2, "new", None)
    [attempt] = await attempts(runtime)
    assert (attempt.outcome, attempt.provider_message_id) == ("sent", "m1")  # its own outcome, still recorded
    assert await runtime.db.write(lambda s: outbox.renew(s, [(new.id, 2)], owner="new", until=later_on + LEASE)) == 1
    fresh = outbox.Intent(new.id, 2, "sendgrid", later_on, "new")
    assert await runtime.db.write(lambda s: outbox.record_intent(s, [fresh])) == [fresh]


async def test_an_unknown_delivery_is_claimed_with_its_attempt_in_doubt(
    runtime: Runtime, sale_payload: Payload
) -> None:
    await post(runtime, email_sale(sale_payload))
    start = datetime.now(UTC)
    [first] = await claim(runtime, "w", start)
    timeout = Settlement(first.id, 1, "sendgrid", start, start, "unknown", DeliveryState.UNKNOWN, start)
    assert await runtime.db.write(lambda s: outbox.settle(s, [timeout])) == [timeout]
    [again] = await claim(runtime, "w", start)
    assert again.doubt is not None and (again.doubt.number, again.doubt.outcome) == (1, "unknown")
    assert [a.outcome for a in await attempts(runtime)] == ["unknown"]


async def test_claims_handed_back_unsent_leave_no_attempt(runtime: Runtime, sale_payload: Payload) -> None:
    await post(runtime, email_sale(sale_payload))
    start = datetime.now(UTC)
    [first] = await claim(runtime, "w", start)
    assert await runtime.db.write(lambda s: outbox.release(s, [(first.id, first.attempt)], now=start)) == 1
    assert await attempts(runtime) == []
    [again] = await claim(runtime, "w", start)
    assert (again.attempt, again.doubt) == (1, None)


async def test_a_claim_handed_back_with_its_doubt_carries_it_to_the_next_claim(
    runtime: Runtime, sale_payload: Payload
) -> None:
    await post(runtime, email_sale(sale_payload))
    start = datetime.now(UTC)
    await claim(runtime, "dead", start)  # a worker that died with its attempt written
    later_on = start + LEASE + timedelta(seconds=1)
    [taken] = await claim(runtime, "new", later_on)
    assert taken.doubt is not None and taken.doubt.number == 1
    handed_back = await runtime.db.write(
        lambda s: outbox.release(s, [(taken.id, taken.attempt)], now=later_on, doubtful={taken.id})
    )
    assert handed_back == 1 and (await delivery(runtime)).state == "unknown"
    [again] = await claim(runtime, "new", later_on)
    assert again.doubt is not None and (again.attempt, again.doubt.number, again.doubt.outcome) == (2, 1, "in_doubt")
    assert [(a.number, a.outcome) for a in await attempts(runtime)] == [(1, "in_doubt")]


async def test_claims_go_one_round_ahead_are_renewed_while_held_and_handed_back_at_a_stop(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    """Two workers, two claims ahead: four of seven deliveries claimed, the attempts of the two in flight
    written, the other two waiting without one; every lease held is renewed; a stop hands the waiting
    two back due at once, so another dispatcher takes all five left without waiting for a lease."""
    faults = sandbox.app.state.faults
    faults.configure(hold=True)
    for n in range(7):
        payload = email_sale(sale_payload)
        payload["sale_id"] = f"S-{n}"
        await post(runtime, payload, f"e{n}")
    lease = timedelta(seconds=0.6)
    dispatcher = Dispatcher(
        runtime.db, runtime.adapters, runtime.bus, concurrency=2, prefetch=2, lease=lease, owner="narrow"
    )
    dispatcher.start()
    stopping: asyncio.Future[None] | None = None
    try:
        await wait_until(lambda: faults.held == 2 and dispatcher.waiting == 2, timeout=30)
        rows = await runtime.db.read(lambda s: list(s.scalars(select(DeliveryRow))))
        sending = [r for r in rows if r.state == "sending"]
        assert (len(sending), len(rows) - len(sending), dispatcher.held) == (4, 3, 4)
        written = await attempts(runtime)
        assert [a.outcome for a in written] == ["sending"] * 2  # only what left: none for those waiting
        first_lease = max(r.next_attempt_at for r in sending)

        async def renewed() -> bool:
            rows = await runtime.db.read(
                lambda s: list(s.scalars(select(DeliveryRow).where(DeliveryRow.state == "sending")))
            )
            return len(rows) == 4 and min(r.next_attempt_at for r in rows) > first_lease

        await wait_until(renewed, timeout=30)
        stopping = asyncio.ensure_future(dispatcher.stop())
        await wait_until(lambda: not dispatcher.running, timeout=30)  # the stop took the waiting claims
        faults.configure(hold=False)
        faults.release()
        await asyncio.wait_for(stopping, 30)
    finally:
        faults.configure(hold=False)
        faults.release()
        await (stopping if stopping is not None else dispatcher.stop())
    assert len(sandbox.app.state.store.messages(provider="sendgrid")) == 2
    rows = await runtime.db.read(lambda s: list(s.scalars(select(DeliveryRow))))
    assert sorted(r.state for r in rows) == ["queued"] * 5 + ["sent"] * 2
    assert all(r.attempts == 0 for r in rows if r.state == "queued")
    assert [a.outcome for a in await attempts(runtime)] == ["sent"] * 2
    assert len(await claim(runtime, "other", datetime.now(UTC))) == 5


async def test_a_lookup_that_fails_in_the_adapter_keeps_the_doubt(
    runtime: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    """A bug in a lookup (here, an adapter that raises) leaves the attempt in doubt: nothing is sent."""

    class Broken(SendGridThatCannotBeAsked):  # a test adapter: a provider whose lookup breaks
        async def look_up(self, message: OutboundMessage, *, sent_after: datetime) -> Lookup | None:
            raise RuntimeError("lookup broke")

    await post(runtime, email_sale(sale_payload))
    await claim(runtime, "dead", datetime.now(UTC))  # a worker that died with its attempt written
    broken = Broken.__new__(Broken)
    broken.__dict__.update(vars(runtime.adapters["sendgrid"]))
    dispatcher = later(runtime, adapters={**runtime.adapters, "sendgrid": broken})
    dispatcher.start()
    try:
        await wait_until(lambda: in_state(runtime, DeliveryState.UNKNOWN), timeout=30)
    finally:
        await dispatcher.stop()
    [attempt] = await attempts(runtime)
    assert (attempt.outcome, attempt.settled_by) == ("in_doubt", None)
    assert sandbox.app.state.store.messages() == []
