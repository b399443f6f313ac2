"""Unsubscribing from receipt e-mails: the headers and footer a sent receipt carries, the one-click page over
real loopback HTTP, and Mailgun's signed inbound forward; each ends in the consent ledger."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from mailgun.security import SecurityGuard
from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.intake import parse_sale
from app.domain.unsubscribe import ONE_CLICK, token_in
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.sandbox.store import MessageRecord
from app.storage import consents
from app.storage.models import ConsentRow, DeliveryRow, OptOutRow, UnsubscribeLinkRow
from app.support.asgi_server import start_asgi_server
from app.triggers.pos import pos_event
from tests.conftest import drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
PUBLIC_URL = "https://lane3.store.example"
SIGNING_KEY = "mg-signing-key-unsub"
ANA = "Ana@Example.com"


@pytest.fixture
async def served(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = sandbox_settings(Settings(), sandbox.url, public_url=PUBLIC_URL, routing={Channel.EMAIL: "sendgrid"})
    store = settings.store.model_copy(update={"unsubscribe_email": "unsubscribe@demo-market.example"})
    settings = settings.model_copy(update={"store": store})
    keys = sandbox_secrets(sandbox.url)
    keys["mailgun"] = {**keys.get("mailgun", {}), "webhook_signing_key": SIGNING_KEY}
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=keys)
    server = await start_asgi_server(runtime.local_api(), name="api")
    runtime.start_dispatching()
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield runtime, client
    await server.stop()
    await runtime.close()


async def sell(runtime: Runtime, payload: dict[str, Any], *, spanish: bool = False) -> str:
    payload["customer"] = {"email": ANA, "channels": ["email"], **({"language": "es"} if spanish else {})}
    accepted = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    await wait_until(lambda: drained(runtime))
    return accepted.receipt_id


def sent_to(sandbox: RunningSandbox) -> list[MessageRecord]:
    return [
        m for m in sandbox.app.state.store.messages(provider="sendgrid") if [t.lower() for t in m.to] == [ANA.lower()]
    ]


async def test_a_receipt_email_carries_the_headers_and_the_footer_and_one_click_stops_the_next(
    served: tuple[Runtime, httpx.AsyncClient], sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime, client = served
    await sell(runtime, sale_payload("S-U1"), spanish=True)
    [first] = sent_to(sandbox)
    header = first.headers["List-Unsubscribe"]
    token = token_in(header)
    assert token is not None and len(token) == 24
    assert header == (
        f"<{PUBLIC_URL}/unsubscribe/{token}>, "
        f"<mailto:unsubscribe+{token}@demo-market.example?subject=unsubscribe%20{token}>"
    )
    assert first.headers["List-Unsubscribe-Post"] == ONE_CLICK
    assert first.text and first.text.rstrip().endswith(f"Cancelar la suscripción:\n{PUBLIC_URL}/unsubscribe/{token}")

    # Opening the link (as a mail scanner does) changes nothing; the page is in Spanish, the address masked.
    page = await client.get(f"/unsubscribe/{token}", headers={"Origin": "https://mail.example"})
    assert page.status_code == 200 and 'lang="es"' in page.text and "ANA@" not in page.text.upper()
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert not await runtime.db.read(lambda s: consents.opted_out(s, ChannelGroup.EMAIL, ANA))

    # A mail app's RFC 8058 POST, from another origin, unsubscribes; a repeat is recognised.
    form = {"content": ONE_CLICK.encode(), "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    done = await client.post(f"/unsubscribe/{token}", **form)  # type: ignore[arg-type]
    again = await client.post(f"/unsubscribe/{token}", headers={"Origin": "https://mail.example"})
    assert done.status_code == again.status_code == 200 and "Listo" in done.text
    assert await runtime.db.read(lambda s: consents.opted_out(s, ChannelGroup.EMAIL, ANA))
    ledger = await runtime.db.read(lambda s: s.scalars(select(ConsentRow).where(ConsentRow.granted.is_(False))).all())
    assert {(row.channel, row.source) for row in ledger} == {("email", ConsentSource.EMAIL_LINK.value)}
    assert len(ledger) == 2  # receipts and order updates, once: the repeat added nothing
    link = await runtime.db.read(lambda s: s.scalars(select(UnsubscribeLinkRow)).one())
    assert link.address == "Ana@example.com" and link.used_at is not None

    # The next sale's e-mail to that address is not sent.
    await sell(runtime, sale_payload("S-U2", seed=2))
    assert len(sent_to(sandbox)) == 1
    rows = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).all())
    assert len(rows) == 1  # refused at queueing: no delivery was made for the second receipt


async def test_one_token_per_address_and_unknown_or_malformed_tokens_are_a_404_page(
    served: tuple[Runtime, httpx.AsyncClient], sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime, client = served
    await sell(runtime, sale_payload("S-U3"))
    await runtime.receipts.resend(
        (await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).one())).receipt_id,
        Channel.EMAIL,
        ANA.upper(),
        reason="asked again",
        actor="manager",
    )
    await wait_until(lambda: drained(runtime))
    tokens = {token_in(m.headers["List-Unsubscribe"]) for m in sandbox.app.state.store.messages(provider="sendgrid")}
    assert len(tokens) == 1  # the same address, however written, keeps its one token
    for token in (secrets.token_urlsafe(18), "no", "x" * 200):
        for method in ("GET", "POST"):
            answer = await client.request(method, f"/unsubscribe/{token}")
            assert answer.status_code == 404 and answer.text.count("<p>") == 1
    assert not await runtime.db.read(lambda s: s.scalars(select(OptOutRow)).all())


def mailgun_form(recipient: str, subject: str, *, key: str = SIGNING_KEY) -> bytes:
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    assert SecurityGuard.verify_webhook(SIGNING_KEY, token, timestamp, signature) is (key == SIGNING_KEY)
    fields = {"recipient": recipient, "sender": ANA, "from": f"Ana <{ANA}>", "subject": subject}
    fields |= {"body-plain": "unsubscribe", "timestamp": timestamp, "token": token, "signature": signature}
    return urlencode(fields).encode()


async def test_a_signed_mailgun_forward_of_a_reply_unsubscribes_and_a_bad_signature_is_401(
    served: tuple[Runtime, httpx.AsyncClient], sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime, client = served
    await sell(runtime, sale_payload("S-U4"))
    [sent] = sent_to(sandbox)
    token = token_in(sent.headers["List-Unsubscribe"])
    mailbox = f"unsubscribe+{token}@demo-market.example"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    path = "/webhooks/mailgun/inbound"

    forged = await client.post(path, content=mailgun_form(mailbox, "unsubscribe", key="not-the-key"), headers=form)
    assert forged.status_code == 401 and not forged.content
    assert (await runtime.health.check()).rejected_webhooks == {"mailgun inbound": 1}  # counted for health
    unknown = await client.post(path, content=mailgun_form("unsubscribe@demo-market.example", "hello"), headers=form)
    assert unknown.status_code == 406
    assert not await runtime.db.read(lambda s: consents.opted_out(s, ChannelGroup.EMAIL, ANA))

    ok = await client.post(path, content=mailgun_form(mailbox, "unsubscribe"), headers=form)
    # A mailbox that drops the "+" part still finds the token in the subject the mailto set.
    repeat = await client.post(
        path, content=mailgun_form("unsubscribe@x.example", f"unsubscribe {token}"), headers=form
    )
    assert ok.json() == {"unsubscribed": True, "repeat": False} and repeat.json()["repeat"] is True
    ledger = await runtime.db.read(lambda s: s.scalars(select(ConsentRow).where(ConsentRow.granted.is_(False))).all())
    assert {row.source for row in ledger} == {ConsentSource.EMAIL_REPLY.value}
