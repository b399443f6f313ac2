"""The WhatsApp, chat and CRM stand-ins over real loopback HTTP, driven through our own adapters.

Each provider: an accepted send is recorded once with its idempotency key, bad credentials are a
permanent error, an injected throttle is a transient error with Retry-After and records nothing.
The Slack stand-in is also checked with the official `slack_sdk` WebhookClient.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendStatus
from app.providers.base import ProviderAdapter
from app.providers.freshdesk import FreshdeskAdapter
from app.providers.hubspot import HubSpotAdapter
from app.providers.slack import SlackAdapter
from app.providers.teams import TeamsAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from app.providers.zapier import ZapierAdapter
from app.providers.zendesk import ZendeskAdapter
from app.sandbox import credentials, freshdesk, hubspot, slack, teams, zapier, zendesk
from app.sandbox.faults import Faults
from app.sandbox.store import MessageStore
from app.sandbox.twilio import TwilioApi
from app.support.asgi_server import RunningServer, start_asgi_server

CUSTOMER_EMAIL = "ana.garcia@example.com"
CUSTOMER_PHONE = "+15558675310"
META = {
    "receipt_id": "R-1",
    "sale_id": "S-1001",
    "delivery_id": "D-9",
    "store": "Demo Market",
    "total": "$42.17",
    "receipt_channel": "email",
    "state": "sent",
}
CONTENT_SID = "HX0123456789abcdef0123456789abcdef"


@dataclass
class Sandbox:
    url: str
    store: MessageStore
    faults: Faults
    http: httpx.AsyncClient


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    store, faults = MessageStore(), Faults()
    twilio = TwilioApi(store, faults)
    routes = [Route("/2010-04-01/Accounts/{account_sid}/Messages.json", twilio.create_message, methods=["POST"])]
    for module in (slack, teams, hubspot, freshdesk, zendesk, zapier):
        routes += module.routes(store, faults)
    server: RunningServer = await start_asgi_server(Starlette(routes=routes), name="sandbox-chat-crm")
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            yield Sandbox(server.url, store, faults, http)
    finally:
        await server.stop()


def message(channel: Channel, to: str, **kwargs: Any) -> OutboundMessage:
    values: dict[str, Any] = {"idempotency_key": f"rd-{channel}-1", "metadata": dict(META)}
    return OutboundMessage(channel, to, **(values | kwargs))


Factory = Callable[[Sandbox, bool], ProviderAdapter]


@dataclass(frozen=True)
class Case:
    record_as: str  # provider name the stand-in records
    make: Factory  # (sandbox, good credentials?) -> adapter
    message: OutboundMessage
    keyed: bool  # does the stand-in see our idempotency key?


def _whatsapp(s: Sandbox, good: bool) -> ProviderAdapter:
    token = credentials.TWILIO_AUTH_TOKEN if good else "wrong-token"
    return TwilioWhatsAppAdapter(
        s.http,
        account_sid=credentials.TWILIO_ACCOUNT_SID,
        auth_token=token,
        content_sid=CONTENT_SID,
        from_number=credentials.TWILIO_FROM,
        base_url=s.url,
    )


def _hook(path: str, good: bool, bad: str) -> str:
    return path if good else bad


CASES: dict[str, Case] = {
    "twilio_whatsapp": Case("twilio", _whatsapp, message(Channel.WHATSAPP, CUSTOMER_PHONE), keyed=False),
    "slack": Case(
        "slack",
        lambda s, good: SlackAdapter(
            s.http, webhook_url=s.url + _hook(slack.SANDBOX_WEBHOOK_PATH, good, "/_hooks/slack/T000/B000/stolen")
        ),
        message(Channel.CHAT, CUSTOMER_EMAIL, html="<p>bananas</p>"),
        keyed=True,
    ),
    "teams": Case(
        "teams",
        lambda s, good: TeamsAdapter(
            s.http,
            workflow_url=s.url
            + _hook(teams.SANDBOX_WEBHOOK_PATH, good, teams.SANDBOX_WEBHOOK_PATH.replace(teams.SANDBOX_SIG, "forged")),
        ),
        message(Channel.CHAT, CUSTOMER_PHONE, sms_body="bananas"),
        keyed=True,
    ),
    "hubspot": Case(
        "hubspot",
        lambda s, good: HubSpotAdapter(
            s.http,
            access_token=hubspot.SANDBOX_ACCESS_TOKEN if good else "pat-wrong",
            email_id=hubspot.SANDBOX_EMAIL_ID,
            base_url=s.url,
        ),
        message(Channel.CRM, CUSTOMER_EMAIL),
        keyed=True,
    ),
    "freshdesk": Case(
        "freshdesk",
        lambda s, good: FreshdeskAdapter(
            s.http,
            api_key=freshdesk.SANDBOX_API_KEY if good else "wrong-key",
            domain=freshdesk.SANDBOX_DOMAIN,
            email_config_id=freshdesk.SANDBOX_EMAIL_CONFIG_ID,
            base_url=s.url,
        ),
        message(Channel.CRM, CUSTOMER_EMAIL, subject="Your receipt", html="<p>Total $42.17</p>"),
        keyed=False,
    ),
    "zendesk": Case(
        "zendesk",
        lambda s, good: ZendeskAdapter(
            s.http,
            api_token=zendesk.SANDBOX_API_TOKEN if good else "wrong-token",
            subdomain=zendesk.SANDBOX_SUBDOMAIN,
            email=zendesk.SANDBOX_EMAIL,
            base_url=s.url,
        ),
        message(Channel.CRM, CUSTOMER_EMAIL, subject="Receipt S-1001", html="<p>Total $42.17</p>"),
        keyed=True,
    ),
    "zapier": Case(
        "zapier",
        lambda s, good: ZapierAdapter(
            s.http, webhook_url=s.url + _hook(zapier.SANDBOX_WEBHOOK_PATH, good, "/hooks/catch/000000/guessed/")
        ),
        message(Channel.CRM, CUSTOMER_EMAIL, html="<p>bananas</p>"),
        keyed=True,
    ),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


async def test_accepted_send_is_recorded_once_with_its_key(sandbox: Sandbox, case: Case) -> None:
    result = await case.make(sandbox, True).send(case.message)
    assert result.status is SendStatus.ACCEPTED
    (record,) = sandbox.store.messages(case.record_as)
    if result.provider_message_id:
        assert record.id == result.provider_message_id
    assert record.idempotency_key == (case.message.idempotency_key if case.keyed else None)


async def test_bad_credentials_are_permanent_and_record_nothing(sandbox: Sandbox, case: Case) -> None:
    with pytest.raises(PermanentProviderError) as info:
        await case.make(sandbox, False).send(case.message)
    assert info.value.status_code in (401, 403, 404)
    assert len(sandbox.store) == 0


async def test_injected_throttle_is_transient_with_retry_after(sandbox: Sandbox, case: Case) -> None:
    sandbox.faults.configure(throttle_rate=1.0, retry_after=2)
    with pytest.raises(TransientProviderError) as info:
        await case.make(sandbox, True).send(case.message)
    assert info.value.status_code == 429
    assert info.value.retry_after == 2.0
    assert len(sandbox.store) == 0


async def test_injected_outage_is_transient(sandbox: Sandbox, case: Case) -> None:
    sandbox.faults.configure(error_rate=1.0, error_status=503)
    with pytest.raises(TransientProviderError) as info:
        await case.make(sandbox, True).send(case.message)
    assert info.value.status_code == 503
    assert len(sandbox.store) == 0


async def test_chat_and_zapier_records_hold_no_raw_contact_and_no_receipt(sandbox: Sandbox) -> None:
    for name in ("slack", "teams", "zapier"):
        await CASES[name].make(sandbox, True).send(CASES[name].message)
    text = json.dumps([r.to_dict() for r in sandbox.store])
    for leak in (CUSTOMER_EMAIL, CUSTOMER_PHONE, "bananas"):
        assert leak not in text
    assert "a***@example.com" in text


# --- provider-specific behaviour ---------------------------------------------------------------


async def test_whatsapp_template_and_session_forms_reach_the_twilio_stand_in(sandbox: Sandbox) -> None:
    adapter = _whatsapp(sandbox, True)
    await adapter.send(CASES["twilio_whatsapp"].message)
    session = message(Channel.WHATSAPP, CUSTOMER_PHONE, sms_body="Hi again", provider_extra={"session_open": True})
    await adapter.send(session)
    template, free_form = sandbox.store.messages("twilio")
    assert template.to == ("whatsapp:" + CUSTOMER_PHONE,)
    assert template.from_ == "whatsapp:" + credentials.TWILIO_FROM
    assert template.body == ""
    assert free_form.body == "Hi again"


async def test_zendesk_replays_a_retried_create_and_refuses_a_changed_one(sandbox: Sandbox) -> None:
    adapter = CASES["zendesk"].make(sandbox, True)
    first = await adapter.send(CASES["zendesk"].message)
    again = await adapter.send(CASES["zendesk"].message)
    assert again.provider_message_id == first.provider_message_id
    assert again.detail and "hit" in again.detail
    assert len(sandbox.store.messages("zendesk")) == 1
    changed = message(Channel.CRM, CUSTOMER_EMAIL, subject="Receipt S-1001", html="<p>Total $1.00</p>")
    with pytest.raises(PermanentProviderError) as info:
        await adapter.send(changed)
    assert info.value.code == "IdempotentRequestError"


async def test_hubspot_sends_once_per_send_id(sandbox: Sandbox) -> None:
    adapter = CASES["hubspot"].make(sandbox, True)
    first = await adapter.send(CASES["hubspot"].message)
    again = await adapter.send(CASES["hubspot"].message)
    assert first.raw_status == "PENDING"
    assert again.raw_status == "COMPLETE/IDEMPOTENT_IGNORE"
    assert again.status is SendStatus.ACCEPTED
    assert again.provider_message_id == first.provider_message_id
    assert len(sandbox.store.messages("hubspot")) == 1


async def test_hubspot_unknown_email_id_is_permanent(sandbox: Sandbox) -> None:
    adapter = HubSpotAdapter(
        sandbox.http, access_token=hubspot.SANDBOX_ACCESS_TOKEN, email_id="1", base_url=sandbox.url
    )
    with pytest.raises(PermanentProviderError) as info:
        await adapter.send(CASES["hubspot"].message)
    assert (info.value.status_code, info.value.code) == (404, "OBJECT_NOT_FOUND")


async def test_freshdesk_unknown_mailbox_is_a_field_error(sandbox: Sandbox) -> None:
    adapter = FreshdeskAdapter(
        sandbox.http,
        api_key=freshdesk.SANDBOX_API_KEY,
        domain=freshdesk.SANDBOX_DOMAIN,
        email_config_id="7",
        base_url=sandbox.url,
    )
    with pytest.raises(PermanentProviderError, match="email_config_id"):
        await adapter.send(CASES["freshdesk"].message)


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        (b"{not json", "invalid_payload"),
        (json.dumps({"blocks": []}).encode(), "no_text"),
        (json.dumps({"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]}).encode(),
         "invalid_blocks"),
        (json.dumps({"text": "x", "blocks": [{"type": "divider"}] * 51}).encode(), "invalid_blocks"),
    ],
    ids=["bad-json", "empty", "mrkdwn-header", "51-blocks"],
)  # fmt: skip
async def test_slack_stand_in_validates_like_slack(sandbox: Sandbox, body: bytes, slug: str) -> None:
    url = sandbox.url + slack.SANDBOX_WEBHOOK_PATH
    response = await sandbox.http.post(url, content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, slug)


async def test_slack_stand_in_answers_the_official_webhook_client(sandbox: Sandbox) -> None:
    webhook = pytest.importorskip("slack_sdk.webhook")
    good = webhook.WebhookClient(sandbox.url + slack.SANDBOX_WEBHOOK_PATH)
    bad = webhook.WebhookClient(sandbox.url + "/_hooks/slack/T000/B000/nope")
    ok = await asyncio.to_thread(good.send, text="Receipt S-1 at Demo Market")
    refused = await asyncio.to_thread(bad.send, text="x")
    assert (ok.status_code, ok.body) == (200, "ok")
    assert (refused.status_code, refused.body) == (403, "invalid_token")
    (record,) = sandbox.store.messages("slack")
    assert record.body == "Receipt S-1 at Demo Market"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "message"}, 400),
        ({"type": "message", "attachments": [{"contentType": "text/plain", "content": {}}]}, 400),
        ({"type": "message", "attachments": [{"contentType": teams.CARD_CONTENT_TYPE, "content": {
            "type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x" * 30_000}]}}]}, 413),
    ],
    ids=["no-attachments", "not-a-card", "too-large"],
)  # fmt: skip
async def test_teams_stand_in_validates_the_card(sandbox: Sandbox, body: dict[str, Any], status: int) -> None:
    response = await sandbox.http.post(sandbox.url + teams.SANDBOX_WEBHOOK_PATH, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"]


async def test_zapier_stand_in_takes_form_bodies_too(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        sandbox.url + zapier.SANDBOX_WEBHOOK_PATH.rstrip("/"), data={"event": "receipt.sent", "idempotency_key": "k"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "success"
    (record,) = sandbox.store.messages("zapier")
    assert record.idempotency_key == "k"
