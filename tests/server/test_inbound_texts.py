"""Customers' texts to the store through Twilio's signed incoming-message webhook, over loopback: STOP,
START, HELP, texts kept for the manager, and a receipt by texting in a code (the sandbox fires the text)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from app.demo.wiring import sandbox_secrets
from app.domain.clock import utcnow
from app.main import Runtime, build_runtime
from app.sandbox import credentials
from app.sandbox.fire import fire_twilio_text
from app.sandbox.server import RunningSandbox
from app.storage.models import AuditRow, ConsentRow, InboundMessageRow, OptOutRow, SaleRow, TextInCodeRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, drained, fast_settings, new_database, wait_until

PHONE = "+12175550142"
INBOUND = "/webhooks/twilio/inbound"
_sids = itertools.count(1)


class App:
    """A runtime with its API on loopback, and the customer's phone as the sandbox records it."""

    def __init__(self, rt: Runtime, url: str, sandbox: RunningSandbox) -> None:
        self.rt, self.url, self.sandbox = rt, url, sandbox

    async def text(self, body: str, *, sender: str = PHONE, sid: str | None = None, token: str | None = None) -> int:
        """Post Twilio's incoming-message webhook, signed by the official SDK's validator."""
        form = {"MessageSid": sid or f"SM{next(_sids):032d}", "From": sender, "To": credentials.TWILIO_FROM}
        form["Body"] = body
        url = self.url + INBOUND
        signature = RequestValidator(token or credentials.TWILIO_AUTH_TOKEN).compute_signature(url, form)
        headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        async with httpx.AsyncClient() as client:
            response = await client.post(url, content=urlencode(form), headers=headers)
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("text/xml") and "<Response>" in response.text
        return response.status_code

    async def sent_to(self, phone: str = PHONE) -> list[str]:
        """Every SMS body the sandbox received for `phone`, once the outbox is drained."""
        self.rt.start_dispatching()
        await wait_until(lambda: drained(self.rt))
        return [m.body or "" for m in self.sandbox.app.state.store.messages("twilio") if m.to == (phone,)]

    async def rows(self, model: Any) -> list[Any]:
        return list(await self.rt.db.read(lambda s: s.scalars(select(model)).all()))


async def started(tmp_path: Path, sandbox: RunningSandbox) -> tuple[App, Callable[[], Any]]:
    new_database(tmp_path)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    server = await start_asgi_server(rt.local_api(), name="api")

    async def stop() -> None:
        await server.stop()
        await rt.close()

    return App(rt, server.url.rstrip("/"), sandbox), stop


@pytest.fixture
async def app(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[App]:
    running, stop = await started(tmp_path, sandbox)
    yield running
    await stop()


async def sell(app: App, sale_payload: Callable[..., dict[str, Any]], sale_id: str, **customer: Any) -> str:
    payload = sale_payload(sale_id, with_customer=bool(customer))
    if customer:
        payload["customer"] = customer
    async with httpx.AsyncClient(base_url=app.url, headers=await authorised(app.rt, "sales:write")) as api:
        response = await api.post("/v1/sales", json=payload)
    assert response.status_code == 202, response.text
    return str(response.json()["receipt_id"])


# --- STOP, START, HELP ------------------------------------------------------------------------


async def test_stop_answers_once_and_stops_every_later_text_across_a_restart(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    app, stop = await started(tmp_path, sandbox)
    try:
        assert await app.text(" Stop. ", sid="SMstop1") == 200
        assert await app.text(" Stop. ", sid="SMstop1") == 200  # Twilio retrying the same text
        assert await app.text("STOP") == 200  # a second STOP: already stopped
        assert await app.text("help") == 200  # a stopped number hears nothing, not even HELP
        [confirmation] = await app.sent_to()
        assert confirmation.startswith(app.rt.settings.store.name) and "START" in confirmation
        [opt_out] = await app.rows(OptOutRow)
        assert (opt_out.channel_group, opt_out.via) == ("text", "stop_reply")
        assert [r.body for r in await app.rows(InboundMessageRow)] == ["STOP", "STOP", "HELP"]
    finally:
        await stop()
    app, stop = await started(tmp_path, sandbox)  # the same database, a new process
    try:
        receipt = await sell(app, sale_payload, "S-AFTER-STOP", phone=PHONE, channels=["sms"])
        offer = await app.rt.text_in.offer(receipt, lane="1")  # type: ignore[union-attr]
        assert offer is not None
        assert await app.text(offer.body) == 200  # a code from a stopped number: nothing, START first
        assert await app.sent_to() == [confirmation]
        assert await app.text("unstop") == 200
        assert await app.text("Yes", sid="SMyes") == 200  # not stopped any more: just a message
        [_, started_again] = await app.sent_to()
        assert "again" in started_again
        assert await app.text(offer.body) == 200  # the same code, now that START was sent
        texts = await app.sent_to()
        assert len(texts) == 3 and "START" not in texts[2]  # the receipt itself
        assert [r.keyword for r in await app.rows(InboundMessageRow)][-3:] == ["start", None, "code"]
    finally:
        await stop()


async def test_every_stop_word_stops_its_number_with_one_confirmation_in_its_language(app: App) -> None:
    words = ["STOP", "stopall", "Unsubscribe", "cancel", " END ", "quit!", "Revoke", "optout", "ALTO", "parar."]
    numbers = [f"+1217555{n:04d}" for n in range(200, 200 + len(words))]
    for word, number in zip(words, numbers, strict=True):
        assert await app.text(word, sender=number) == 200
    for word, number in zip(words, numbers, strict=True):
        [confirmation] = await app.sent_to(number)
        spanish = word.strip(".").upper() in {"ALTO", "PARAR"}
        assert ("no recibirá" in confirmation) is spanish, (word, confirmation)


async def test_help_answers_with_the_stores_name_and_phone(app: App) -> None:
    assert await app.text("Help") == 200
    [answer] = await app.sent_to()
    store = app.rt.settings.store
    assert store.name in answer and store.phone in answer


async def test_any_other_text_gets_no_answer_and_waits_for_the_manager(app: App) -> None:
    assert await app.text("Do you have oat milk?", sid="SMq") == 200
    assert await app.text("Do you have oat milk?", sid="SMq") == 200  # retried: kept once
    assert await app.sent_to() == []
    inbox = app.rt.inbound_texts
    assert inbox is not None
    [kept] = await inbox.inbox()
    assert (kept.body, kept.sender) == ("Do you have oat milk?", "(***) ***-0142")
    assert await inbox.reveal(kept.id, actor="dana") == PHONE
    assert await inbox.mark_handled(kept.id, actor="dana") is True
    assert await inbox.inbox() == [] and await inbox.waiting() == 0
    actions = [a.action for a in await app.rows(AuditRow)]
    assert "inbox.revealed" in actions and "inbox.handled" in actions


async def test_a_text_not_from_twilio_is_refused_and_counted(app: App) -> None:
    assert await app.text("STOP", token="not-the-auth-token") == 401
    async with httpx.AsyncClient() as client:  # signed, but no Body
        form = {"MessageSid": "SMx", "From": PHONE}
        url = app.url + INBOUND
        headers = {"X-Twilio-Signature": RequestValidator(credentials.TWILIO_AUTH_TOKEN).compute_signature(url, form)}
        response = await client.post(url, data=form, headers=headers)
    assert response.status_code == 422 and "Body" in response.json()["error"]
    assert await app.rows(InboundMessageRow) == []
    assert (await app.rt.health.check()).rejected_webhooks == {"twilio inbound": 1}


# --- a receipt by texting in -----------------------------------------------------------------


async def test_texting_a_code_sends_the_receipt_to_that_number_once(
    app: App, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    text_in = app.rt.text_in
    assert text_in is not None
    receipt = await sell(app, sale_payload, "S-TEXT-IN")
    offer = await text_in.offer(receipt, lane="3")
    assert offer is not None and offer.number == credentials.TWILIO_FROM
    assert offer.sms_uri == f"sms:{offer.number}?&body=RD%20{offer.code}"
    assert await text_in.offer(receipt, lane="3") == offer  # shown again: the same code
    async with httpx.AsyncClient() as client:  # the customer's phone, as the sandbox plays Twilio
        lines, ok = await fire_twilio_text(client, app_url=app.url, sender=PHONE, body=offer.body.lower())
    assert ok, lines
    [receipt_text] = await app.sent_to()
    assert receipt_text.startswith(app.rt.settings.store.name) and "again" not in receipt_text
    [grant] = [c for c in await app.rows(ConsentRow) if c.granted]
    assert (grant.source, grant.contact, grant.channel, grant.lane) == ("text_in", PHONE, "sms", "3")
    assert offer.body in grant.text_shown and grant.text_version == "text-in-1"
    [sale] = await app.rows(SaleRow)
    assert sale.customer_id == grant.customer_id  # the sale had no customer: now it has this number's
    assert "receipt.text_in" in [a.action for a in await app.rows(AuditRow)]

    assert await app.text(offer.body) == 200  # the code again: one plain answer, nothing else
    texts = await app.sent_to()
    assert len(texts) == 2 and "already used" in texts[1]
    assert len([c for c in await app.rows(ConsentRow) if c.granted]) == 1


async def test_an_expired_or_unknown_code_gets_one_answer_and_sends_no_receipt(
    app: App, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    receipt = await sell(app, sale_payload, "S-LATE")
    offer = await app.rt.text_in.offer(receipt, lane=None)  # type: ignore[union-attr]
    assert offer is not None
    past = utcnow() - timedelta(seconds=1)
    await app.rt.db.write(lambda s: s.execute(update(TextInCodeRow).values(expires_at=past)))  # 15 minutes on
    assert await app.text(offer.body) == 200
    assert await app.text("RD 2345AB") == 200
    assert await app.text("THANKS") == 200  # six letters, but no code was ever THANKS: for the manager
    expired, unknown = await app.sent_to()
    assert "expired" in expired and "do not know" in unknown
    [code] = await app.rows(TextInCodeRow)
    assert code.used_at is None
    assert [c for c in await app.rows(ConsentRow) if c.granted] == []
    assert [r.keyword for r in await app.rows(InboundMessageRow)] == ["code", "code", None]
