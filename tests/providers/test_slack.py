"""SlackAdapter: audit summary shape, masked contact only, errors, and the webhook URL kept secret.

Oracles: `slack_sdk` (official): its Block Kit models must round-trip our blocks unchanged, and
`slack_sdk.webhook.WebhookClient` pointed at a loopback capture server must put the same JSON on
the wire. Recorded answers are in tests/fixtures/providers/slack_responses.json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendStatus
from app.providers.slack import SlackAdapter, audit_facts, summary_line
from app.support.asgi_server import start_asgi_server
from tests.providers.support import FIXTURES, OFFLINE

HOOK = "https://hooks.slack.com/services/T0TEST/B0TEST/slackTestSecret0123456789"
SECRET_PART = "slackTestSecret0123456789"
CUSTOMER = "ana.garcia@example.com"
META = {
    "receipt_id": "R-2026-0001",
    "sale_id": "S-1001",
    "delivery_id": "D-9",
    "store": "Demo Market <Main St> & Co",
    "total": "$42.17",
    "receipt_channel": "email",
    "state": "sent",
}
RESPONSES: dict[str, Any] = json.loads((FIXTURES / "slack_responses.json").read_text())


def recorded(name: str) -> httpx.Response:
    data = RESPONSES[name]
    return httpx.Response(data["status"], headers=data["headers"], text=data["body"])


def audit(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CHAT,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "subject": "Your receipt from Demo Market",
        "html": "<p>1 x Organic bananas $1.99</p><p>Card ending 4242</p>",
        "text": "1 x Organic bananas $1.99 / Card ending 4242",
        "metadata": dict(META),
    }
    return OutboundMessage(**(values | overrides))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("ok"))

    def adapter(self) -> SlackAdapter:
        return SlackAdapter.create(self.http, {}, {"webhook_url": HOOK})


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        holder[0].requests.append(request)
        if isinstance(holder[0].reply, Exception):
            raise holder[0].reply
        return holder[0].reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http))
        yield holder[0]


# --- payload builder ---------------------------------------------------------------------------


async def test_posts_json_to_the_webhook_url_without_auth_header(wire: Wire) -> None:
    result = await wire.adapter().send(audit())
    (request,) = wire.requests
    assert str(request.url) == HOOK
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id is None  # incoming webhooks return no id
    assert result.raw_status == "ok"


def test_summary_shows_masked_contact_and_never_the_receipt_or_raw_contact() -> None:
    body = SlackAdapter(OFFLINE, webhook_url=HOOK).build_request(audit())
    wire_text = json.dumps(body)
    assert "a***@example.com" in wire_text
    assert CUSTOMER not in wire_text
    assert "ana.garcia" not in wire_text
    for receipt_part in ("bananas", "4242", "Your receipt from"):
        assert receipt_part not in wire_text
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert fields == [
        "Store: Demo Market <Main St> & Co",
        "Sale: S-1001",
        "Total: $42.17",
        "Channel: email",
        "State: sent",
        "Contact: a***@example.com",
    ]
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Receipt sent"}}
    assert body["blocks"][2]["elements"][0]["text"] == "Reference rd-D-9"


def test_fallback_text_is_escaped_and_carries_no_contact() -> None:
    body = SlackAdapter(OFFLINE, webhook_url=HOOK).build_request(audit())
    assert body["text"] == "Receipt S-1001 at Demo Market &lt;Main St&gt; &amp; Co: sent by email ($42.17)"
    assert "***" not in body["text"]


def test_phone_contacts_are_masked_too() -> None:
    facts = dict(audit_facts(audit(to="+15558675310")))
    assert facts["Contact"] == "(***) ***-5310"


def test_metadata_nobody_set_never_reaches_the_wire() -> None:
    message = audit(metadata={"sale_id": "S-1"})
    body = SlackAdapter(OFFLINE, webhook_url=HOOK).build_request(message)
    assert [f["text"] for f in body["blocks"][1]["fields"]] == ["Sale: S-1", "Contact: a***@example.com"]
    assert body["metadata"] == {
        "event_type": "receipt_audit",
        "event_payload": {"sale_id": "S-1", "idempotency_key": "rd-D-9"},
    }
    assert set(body) == {"text", "blocks", "metadata"}
    assert summary_line(message) == "Receipt S-1"
    assert "None" not in json.dumps(body)


def test_other_channels_are_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        SlackAdapter(OFFLINE, webhook_url=HOOK).build_request(audit(channel=Channel.EMAIL))


# --- the official SDK as an oracle --------------------------------------------------------------


def test_blocks_round_trip_through_official_block_kit_models() -> None:
    blocks_mod = pytest.importorskip("slack_sdk.models.blocks")
    metadata_mod = pytest.importorskip("slack_sdk.models.metadata")
    body = SlackAdapter(OFFLINE, webhook_url=HOOK).build_request(audit())
    for block in body["blocks"]:
        assert blocks_mod.Block.parse(block).to_dict() == block  # to_dict() also runs validate_json()
    meta = metadata_mod.Metadata(**body["metadata"])
    assert meta.to_dict() == body["metadata"]


@pytest.fixture
async def capture() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def hook(request: Request) -> PlainTextResponse:
        seen.append({"headers": dict(request.headers), "body": json.loads(await request.body())})
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/services/{a}/{b}/{c}", hook, methods=["POST"])])
    async with await start_asgi_server(app, name="slack-capture") as server:
        yield server.url + "/services/T0TEST/B0TEST/" + SECRET_PART, seen


async def test_wire_body_equals_official_webhook_client(capture: tuple[str, list[dict[str, Any]]]) -> None:
    webhook = pytest.importorskip("slack_sdk.webhook")
    url, seen = capture
    async with httpx.AsyncClient(timeout=5.0) as http:
        ours = await SlackAdapter(http, webhook_url=url).send(audit())
    body = SlackAdapter(OFFLINE, webhook_url=url).build_request(audit())
    client = webhook.WebhookClient(url)
    theirs = await asyncio.to_thread(client.send, text=body["text"], blocks=body["blocks"], metadata=body["metadata"])
    assert seen[0]["body"] == seen[1]["body"]
    assert seen[0]["headers"]["content-type"].startswith("application/json")
    assert (theirs.status_code, theirs.body) == (200, "ok")
    assert ours.status is SendStatus.ACCEPTED


# --- response parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["invalid_payload", "no_text", "invalid_token", "action_prohibited", "no_service", "channel_not_found",
             "channel_is_archived"]
)  # fmt: skip
async def test_plain_text_errors_are_permanent_with_their_slug(wire: Wire, name: str) -> None:
    wire.reply = recorded(name)
    with pytest.raises(PermanentProviderError) as info:
        await wire.adapter().send(audit())
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == name
    assert info.value.status_code == RESPONSES[name]["status"]


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = recorded("rate_limited")
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(audit())
    assert info.value.retry_after == 30.0
    assert info.value.code == "rate_limited"


async def test_rollup_error_500_is_transient(wire: Wire) -> None:
    wire.reply = recorded("rollup_error")
    with pytest.raises(TransientProviderError):
        await wire.adapter().send(audit())


@pytest.mark.parametrize(
    "reply", [httpx.Response(200, text="queued?"), httpx.Response(204)], ids=["other-body", "no-body"]
)
async def test_a_2xx_that_is_not_ok_is_unknown(wire: Wire, reply: httpx.Response) -> None:
    wire.reply = reply
    result = await wire.adapter().send(audit())
    assert result.status is SendStatus.UNKNOWN
    assert result.raw_status


# --- the webhook URL is a secret ---------------------------------------------------------------


async def test_webhook_url_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = wire.adapter()
    await adapter.send(audit())
    assert "HTTP Request: POST https://hooks.slack.com[redacted]" in caplog.text  # httpx's INFO line
    texts = [repr(adapter)]
    for reply in (recorded("no_service"), recorded("rate_limited"), httpx.ReadTimeout("slow")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(audit())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert SECRET_PART not in caplog.text
    assert all(SECRET_PART not in t for t in texts)


async def test_real_connection_errors_do_not_echo_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T0/B0/{SECRET_PART}"
    async with httpx.AsyncClient(timeout=2.0) as http:
        with pytest.raises(TransientProviderError) as info:
            await SlackAdapter(http, webhook_url=url).send(audit())
    chain = [str(info.value), repr(info.value), str(info.value.__cause__), repr(info.value.__cause__)]
    assert all(SECRET_PART not in t for t in chain)
    assert SECRET_PART not in caplog.text


@pytest.mark.parametrize("bad", ["not a url", "ftp://hooks.slack.com/x", "https://"], ids=["text", "ftp", "no-host"])
def test_bad_webhook_url_fails_at_construction_without_echoing_it(bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SlackAdapter(OFFLINE, webhook_url=bad)
    assert "webhook_url" in str(info.value)
    assert bad not in str(info.value)
