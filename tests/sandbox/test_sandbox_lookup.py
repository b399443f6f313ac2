"""Asking the provider about a message, end to end over loopback: Twilio (SMS, WhatsApp) and Zendesk.

Each adapter sends through the real sandbox, then `look_up` finds what it sent; a message never
sent is not found; with a sandbox fault on (error, throttle, outage, hold) the lookup cannot tell.
The stand-ins answer from what they recorded, with the real APIs' filters and page shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.message import OutboundMessage
from app.providers.base import HttpAdapter
from app.providers.twilio import TwilioAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from app.providers.zendesk import ZendeskAdapter
from app.sandbox import credentials
from app.sandbox import twilio as twilio_stand_in
from app.sandbox import twilio_whatsapp as whatsapp_stand_in
from app.sandbox import zendesk as zendesk_stand_in
from app.sandbox.faults import Faults
from app.sandbox.store import MessageStore
from app.support.asgi_server import RunningServer

PHONE = "+15558675310"
EMAIL = "ana.garcia@example.com"


@dataclass
class World:
    url: str
    http: httpx.AsyncClient
    faults: Faults
    store: MessageStore

    def twilio(self) -> TwilioAdapter:
        account = twilio_stand_in.account(self.url, "tests")
        return TwilioAdapter.create(self.http, account.settings, account.secrets)

    def whatsapp(self) -> TwilioWhatsAppAdapter:
        account = whatsapp_stand_in.account(self.url, "tests")
        return TwilioWhatsAppAdapter.create(self.http, account.settings, account.secrets)

    def zendesk(self) -> ZendeskAdapter:
        account = zendesk_stand_in.account(self.url, "tests")
        return ZendeskAdapter.create(self.http, account.settings, account.secrets)


@pytest.fixture
async def world(sandbox: RunningServer) -> AsyncIterator[World]:
    app: Any = sandbox.app
    async with httpx.AsyncClient(timeout=2.0) as http:
        yield World(sandbox.url, http, app.state.faults, app.state.store)
    app.state.faults.clear()


def sms(key: str = "rd-D-1", body: str = "Demo Market: your receipt https://r.example/a1") -> OutboundMessage:
    return OutboundMessage(Channel.SMS, PHONE, key, sms_body=body)


def whatsapp(key: str = "rd-D-2", *, session_open: bool = True) -> OutboundMessage:
    extra = {"session_open": True} if session_open else {}
    return OutboundMessage(
        Channel.WHATSAPP,
        PHONE,
        key,
        sms_body="Demo Market: your receipt https://r.example/w1",
        metadata={"store": "Demo Market", "total": "$42.17"},
        provider_extra=extra,
    )


def crm(key: str = "rd-D-3") -> OutboundMessage:
    return OutboundMessage(Channel.CRM, EMAIL, key, subject="Receipt S-1001", text="Total $42.17")


def cases(world: World) -> list[tuple[HttpAdapter, OutboundMessage, OutboundMessage]]:
    """(adapter, a message it sends, one it never sends)."""
    return [
        (world.twilio(), sms(), sms("rd-D-9", "Demo Market: your receipt https://r.example/zz")),
        (
            world.whatsapp(),
            whatsapp(),
            OutboundMessage(
                Channel.WHATSAPP, "+15558670000", "rd-D-8", sms_body="x", provider_extra={"session_open": True}
            ),
        ),
        (world.zendesk(), crm(), crm("rd-D-7")),
    ]


async def test_what_was_sent_is_found_by_its_reference(world: World) -> None:
    since = datetime.now(UTC)
    for adapter, message, _ in cases(world):
        sent = await adapter.send(message)
        lookup = await adapter.look_up(message, sent_after=since)
        assert lookup is not None, adapter
        assert (lookup.found, lookup.provider_message_id) == (True, sent.provider_message_id), adapter
        assert lookup.raw_status


async def test_what_was_never_sent_is_not_found(world: World) -> None:
    since = datetime.now(UTC)
    for adapter, message, never in cases(world):
        await adapter.send(message)
        lookup = await adapter.look_up(never, sent_after=since)
        assert lookup is not None and lookup.found is False, adapter


async def test_a_twilio_message_sent_before_the_attempt_is_not_it(world: World) -> None:
    adapter = world.twilio()
    await adapter.send(sms())
    lookup = await adapter.look_up(sms(), sent_after=datetime.now(UTC) + timedelta(days=1))
    assert lookup is not None and lookup.found is False  # DateSent> tomorrow: the list is empty


async def test_two_attempts_of_one_delivery_leave_the_same_reference(world: World) -> None:
    """The text for Twilio, the Idempotency-Key and external_id for Zendesk (which files one ticket)."""
    twilio, zendesk = world.twilio(), world.zendesk()
    await twilio.send(sms())
    await twilio.send(sms())
    texts = [r.body for r in world.store.messages("twilio")]
    assert texts == [sms().sms_body] * 2
    first = await zendesk.send(crm())
    again = await zendesk.send(crm())
    assert first.provider_message_id == again.provider_message_id
    (ticket,) = world.store.messages("zendesk")
    assert (ticket.idempotency_key, ticket.custom_args["external_id"]) == ("rd-D-3", "rd-D-3")
    lookup = await zendesk.look_up(crm(), sent_after=datetime.now(UTC))
    assert lookup is not None and lookup.found is True and lookup.detail and "tickets" not in lookup.detail


async def test_twilio_lookup_pages_through_the_list(world: World) -> None:
    adapter = world.twilio()
    since = datetime.now(UTC)
    wanted = await adapter.send(sms("rd-D-1", "Demo Market: the first receipt"))
    for n in range(4):  # newer texts to the same number push it down the list
        await adapter.send(sms(f"rd-D-1{n}", f"Demo Market: receipt {n}"))
    adapter.lookup_page_size = 2
    lookup = await adapter.look_up(sms("rd-D-1", "Demo Market: the first receipt"), sent_after=since)
    assert lookup is not None and (lookup.found, lookup.provider_message_id) == (True, wanted.provider_message_id)
    adapter.lookup_max_pages = 2
    lookup = await adapter.look_up(sms("rd-D-1", "Demo Market: the first receipt"), sent_after=since)
    assert lookup is not None and lookup.found is None  # the bound reached without it: cannot tell


async def test_a_whatsapp_template_cannot_be_told_apart(world: World) -> None:
    adapter = world.whatsapp()
    since = datetime.now(UTC)
    template = whatsapp(session_open=False)
    lookup = await adapter.look_up(template, sent_after=since)
    assert lookup is not None and lookup.found is False  # nothing went to that number
    await adapter.send(template)
    lookup = await adapter.look_up(template, sent_after=since)
    assert lookup is not None and lookup.found is None


@pytest.mark.parametrize(
    "fault",
    [{"error_rate": 1.0}, {"error_rate": 1.0, "error_status": 500}, {"throttle_rate": 1.0}, {"outage_seconds": 60}],
    ids=["503", "500", "throttle", "outage"],
)
async def test_with_a_fault_on_the_lookup_cannot_tell(world: World, fault: dict[str, Any]) -> None:
    since = datetime.now(UTC)
    for adapter, message, _ in cases(world):
        await adapter.send(message)
    world.faults.configure(**fault)
    for adapter, message, never in cases(world):
        for asked in (message, never):
            lookup = await adapter.look_up(asked, sent_after=since)
            assert lookup is not None and lookup.found is None and lookup.detail, adapter


async def test_a_held_lookup_cannot_tell(world: World) -> None:
    since = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        twilio_account = twilio_stand_in.account(world.url, "tests")
        zendesk_account = zendesk_stand_in.account(world.url, "tests")
        adapters: list[HttpAdapter] = [
            TwilioAdapter.create(impatient, twilio_account.settings, twilio_account.secrets),
            ZendeskAdapter.create(impatient, zendesk_account.settings, zendesk_account.secrets),
        ]
        await adapters[0].send(sms())
        await adapters[1].send(crm())
        world.faults.configure(hold=True)
        for adapter, message in zip(adapters, (sms(), crm()), strict=True):
            lookup = await adapter.look_up(message, sent_after=since)
            assert lookup is not None and lookup.found is None, adapter
        world.faults.clear()


async def test_the_twilio_stand_in_filters_as_twilio(world: World) -> None:
    adapter = world.twilio()
    await adapter.send(sms())
    await adapter.send(OutboundMessage(Channel.SMS, "+15558670001", "rd-D-5", sms_body="someone else"))
    path = f"{world.url}/2010-04-01/Accounts/{credentials.TWILIO_ACCOUNT_SID}/Messages.json"
    auth = (credentials.TWILIO_ACCOUNT_SID, credentials.TWILIO_AUTH_TOKEN)
    today = datetime.now(UTC).date()

    async def listed(**params: str) -> list[dict[str, Any]]:
        response = await world.http.get(path, params=params, auth=auth)
        assert response.status_code == 200
        page: list[dict[str, Any]] = response.json()["messages"]
        return page

    assert [m["to"] for m in await listed(To=PHONE)] == [PHONE]
    assert len(await listed(From=credentials.TWILIO_FROM)) == 2
    assert await listed(From="+15005550009") == []
    assert len(await listed(**{"DateSent>": today.isoformat()})) == 2
    assert await listed(**{"DateSent>": (today + timedelta(days=1)).isoformat()}) == []
    assert await listed(**{"DateSent<": (today - timedelta(days=1)).isoformat()}) == []
    assert len(await listed(DateSent=today.isoformat())) == 2
    newest_first = await listed()
    assert [m["to"] for m in newest_first] == ["+15558670001", PHONE]
    refused = await world.http.get(path, params={"To": PHONE}, auth=(credentials.TWILIO_ACCOUNT_SID, "wrong"))
    assert refused.status_code == 401
    bad = await world.http.get(path, params={"PageSize": "0"}, auth=auth)
    assert bad.status_code == 400


async def test_the_zendesk_stand_in_lists_by_external_id_in_pages(world: World) -> None:
    adapter = world.zendesk()
    for n in range(3):
        await adapter.send(crm(f"rd-D-{n}"))
    account = zendesk_stand_in.account(world.url, "tests")
    auth = (f"{account.settings['email']}/token", account.secrets["api_token"])
    everything = (await world.http.get(f"{world.url}/api/v2/tickets.json", auth=auth)).json()
    assert everything["count"] == 3 and everything["next_page"] is None
    first = (await world.http.get(f"{world.url}/api/v2/tickets", params={"per_page": 2}, auth=auth)).json()
    assert len(first["tickets"]) == 2 and first["next_page"] and first["previous_page"] is None
    second = (await world.http.get(first["next_page"], auth=auth)).json()
    assert [t["external_id"] for t in second["tickets"]] == ["rd-D-2"]
    one = (await world.http.get(f"{world.url}/api/v2/tickets.json", params={"external_id": "rd-D-1"}, auth=auth)).json()
    assert [t["external_id"] for t in one["tickets"]] == ["rd-D-1"]
    refused = await world.http.get(f"{world.url}/api/v2/tickets.json", auth=(auth[0], "wrong"))
    assert refused.status_code == 401
