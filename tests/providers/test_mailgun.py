"""MailgunAdapter: form fields checked against the official `mailgun` SDK (builder + async client).

Recorded answers in tests/fixtures/providers/mailgun_*.json are written by hand from the Mailgun
Messages API reference. No network: httpx.MockTransport (and httpx2's, for the SDK) is the world.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import httpx2
import pytest
from mailgun.builders import MailgunMessageBuilder
from mailgun.client import AsyncClient as MailgunAsyncClient

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mailgun import MailgunAdapter
from app.providers.mime import message_id
from tests.providers.support import OFFLINE, fixture

API_KEY = "key-test-mailgun-8c1e5f2a"
DOMAIN = "mg.demo-market.example"
FROM_EMAIL = "receipts@demo-market.example"
FROM_NAME = "Demo Market"
TO = "ana@example.com"
PDF = b"%PDF-1.7 receipt"

Fields = list[tuple[str, str]]
Files = list[tuple[str, str, bytes, str]]  # (field, filename, content, content type)


def email(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Your receipt from Demo Market",
        "text": "Total $12.40. Thank you!",
        "html": "<p>Total <b>$12.40</b>. Thank you!</p>",
        "metadata": {"sale_id": "S-1001", "store": "austin-1"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> MailgunAdapter:
    kwargs: dict[str, Any] = {"api_key": API_KEY, "domain": DOMAIN, "from_email": FROM_EMAIL}
    return MailgunAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """The outside world: records every request and answers with `reply` (a response or an error)."""

    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(
        default_factory=lambda: httpx.Response(200, json=fixture("mailgun_message_queued.json"))
    )


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        w.requests.append(request)
        if isinstance(w.reply, Exception):
            raise w.reply
        return w.reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http))
        yield holder[0]


def decode_form(content_type: str, body: bytes) -> tuple[Fields, Files]:
    """Fields and files of a URL-encoded or multipart body (stdlib parsers only)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qsl(body.decode("ascii"), keep_blank_values=True), []
    assert content_type.startswith("multipart/form-data")
    envelope = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: Fields = []
    files: Files = []
    for part in envelope.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is None:
            fields.append((name, payload.decode("utf-8")))
        else:
            files.append((name, filename, payload, part.get_content_type()))
    return fields, files


async def sdk_request(data: dict[str, Any], files: Any = None, domain: str = DOMAIN) -> httpx2.Request:
    """The request the official async client sends for `data` (captured, never sent)."""
    captured: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        captured.append(request)
        return httpx2.Response(200, json=fixture("mailgun_message_queued.json"))

    transport = httpx2.MockTransport(handler)
    async with MailgunAsyncClient(auth=("api", API_KEY), client_kwargs={"transport": transport}) as client:
        await client.messages.create(data=data, domain=domain, files=files)
    (request,) = captured
    return request


def sdk_builder(message: OutboundMessage, *, sender: str = FROM_EMAIL) -> MailgunMessageBuilder:
    builder = MailgunMessageBuilder(sender).add_recipient(message.to).set_idempotency_safe(safe=False)
    if message.subject:
        builder.set_subject(message.subject)
    if message.text:
        builder.set_text(message.text)
    if message.html:
        builder.set_html(message.html)
    builder.add_custom_header("Message-Id", message_id(message.idempotency_key, FROM_EMAIL))
    for key, value in ({**message.metadata, "receiptdesk_key": message.idempotency_key}).items():
        builder.add_custom_variable(key, value)
    return builder


async def ours(message: OutboundMessage, wire: Wire, **settings: Any) -> httpx.Request:
    await make(wire.http, **settings).send(message)
    (request,) = wire.requests
    return request


# --- the official SDK as an oracle --------------------------------------------------------------


async def test_request_equals_official_sdk(wire: Wire) -> None:
    message = email(provider_extra={"tag": "receipt"})
    request = await ours(message, wire, from_name=FROM_NAME)
    data, files = sdk_builder(message, sender=f"{FROM_NAME} <{FROM_EMAIL}>").add_option("tag", value="receipt").build()
    theirs = await sdk_request(data, files)

    assert str(request.url) == str(theirs.url) == f"https://api.mailgun.net/v3/{DOMAIN}/messages"
    assert request.headers["Authorization"] == theirs.headers["authorization"]
    # Both URL-encode a send without attachments (the SDK posts `data=` only).
    assert request.headers["Content-Type"] == theirs.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sorted(decode_form(request.headers["Content-Type"], request.content)[0]) == sorted(
        decode_form(theirs.headers["content-type"], theirs.content)[0]
    )


async def test_template_send_equals_official_sdk(wire: Wire) -> None:
    variables = {"total": "12.40", "items": [{"name": "Bread", "qty": 2}]}
    extra = {"template": "receipt-v2", "template_version": "initial", "template_variables": variables}
    message = email(html=None, text=None, provider_extra=extra)
    request = await ours(message, wire)
    builder = sdk_builder(message).set_template("receipt-v2").set_template_version("initial")
    data, files = builder.set_template_variables(variables).build()
    theirs = await sdk_request(data, files)
    mine = decode_form(request.headers["Content-Type"], request.content)[0]
    assert sorted(mine) == sorted(decode_form(theirs.headers["content-type"], theirs.content)[0])
    assert json.loads(dict(mine)["t:variables"]) == variables


async def test_attachments_are_multipart_like_official_sdk(wire: Wire, tmp_path: Path) -> None:
    message = email(attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    request = await ours(message, wire)
    path = tmp_path / "receipt.pdf"
    path.write_bytes(PDF)
    data, files = sdk_builder(message).attach_file(path).build()
    theirs = await sdk_request(data, files)

    mine_fields, mine_files = decode_form(request.headers["Content-Type"], request.content)
    their_fields, their_files = decode_form(theirs.headers["content-type"], theirs.content)
    assert sorted(mine_fields) == sorted(their_fields)
    assert mine_files == their_files == [("attachment", "receipt.pdf", PDF, "application/pdf")]


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, fields, files = make().build_request(email(html=None, metadata={}))
    assert [name for name, _ in fields] == ["from", "to", "subject", "text", "h:Message-Id", "v:receiptdesk_key"]
    assert files == []


def test_idempotency_key_travels_as_custom_variable_and_wins_over_metadata() -> None:
    _, fields, _ = make().build_request(email(metadata={"receiptdesk_key": "forged", "sale_id": "S-1"}))
    custom = {name: value for name, value in fields if name.startswith("v:")}
    assert custom == {"v:receiptdesk_key": "dlv-42-email", "v:sale_id": "S-1"}


def test_tags_repeat_up_to_three_and_reply_to_is_a_header() -> None:
    extra = {"tags": ["receipt", "austin-1", "web", "extra"]}
    _, fields, _ = make(reply_to="help@demo-market.example").build_request(email(provider_extra=extra))
    assert [v for n, v in fields if n == "o:tag"] == ["receipt", "austin-1", "web"]
    assert ("h:Reply-To", "help@demo-market.example") in fields


def test_wrong_channel_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(email(channel=Channel.SMS))


def test_no_content_and_no_template_is_refused_before_sending() -> None:
    with pytest.raises(PermanentProviderError):
        make().build_request(email(text=None, html=None))


# --- request and response ----------------------------------------------------------------------


async def test_basic_auth_and_message_id_without_brackets(wire: Wire) -> None:
    result = await make(wire.http).send(email())
    (request,) = wire.requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode()
    assert result.provider_message_id == "20261128151542.8d2f6a1c0b3e4f57@sandbox.demo-market.example"
    assert (result.status, result.raw_status, result.detail) == (SendStatus.ACCEPTED, "200", "Queued. Thank you.")


@pytest.mark.parametrize(
    ("settings", "host"),
    [({"region": "eu"}, "api.eu.mailgun.net"), ({"region": "US"}, "api.mailgun.net"), ({}, "api.mailgun.net")],
)
async def test_region_picks_the_host(wire: Wire, settings: dict[str, str], host: str) -> None:
    await make(wire.http, **settings).send(email())
    assert wire.requests[0].url.host == host


def test_unknown_region_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="region"):
        make(region="apac")


@pytest.mark.parametrize(
    ("reply", "raw"),
    [
        (httpx.Response(200, json={"message": "Queued. Thank you."}), "200"),
        (httpx.Response(202, json=fixture("mailgun_message_queued.json")), "202"),
    ],
    ids=["no-id", "other-2xx"],
)
def test_unexpected_success_is_unknown(reply: httpx.Response, raw: str) -> None:
    result = make().parse_response(reply)
    assert (result.status, result.raw_status) == (SendStatus.UNKNOWN, raw)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        (httpx.Response(400, json=fixture("mailgun_error_400.json")), "not a valid address"),
        (httpx.Response(401, text="Forbidden"), "Forbidden"),
        (httpx.Response(403, json={"message": "Domain is disabled"}), "Domain is disabled"),
        (httpx.Response(404, json=fixture("mailgun_error_404.json")), "Domain not found"),
    ],
    ids=["400", "401", "403", "404"],
)
async def test_client_errors_are_permanent(wire: Wire, reply: httpx.Response, text: str) -> None:
    wire.reply = reply
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.status_code == reply.status_code
    assert text in info.value.message


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = httpx.Response(429, json={"message": "Too many requests"}, headers={"Retry-After": "7"})
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email())
    assert (info.value.status_code, info.value.retry_after) == (429, 7.0)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(status: int) -> None:
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(httpx.Response(status, text="<html>upstream</html>"))
    assert info.value.status_code == status
    assert "<html>" not in info.value.message


@pytest.mark.parametrize(
    ("make_error", "ambiguous"),
    [
        (lambda r: httpx.ConnectError("refused", request=r), False),
        (lambda r: httpx.ReadTimeout("slow", request=r), True),
    ],
    ids=["connect", "read-timeout"],
)
async def test_transport_errors_are_transient(
    wire: Wire, make_error: Callable[[httpx.Request], Exception], ambiguous: bool
) -> None:
    wire.reply = make_error(httpx.Request("POST", "https://api.mailgun.net"))
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.ambiguous is ambiguous


# --- configuration and secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "secrets", "missing"),
    [
        ({"from_email": FROM_EMAIL}, {"api_key": API_KEY}, "domain"),
        ({"domain": DOMAIN}, {"api_key": API_KEY}, "from_email"),
        ({"domain": DOMAIN, "from_email": FROM_EMAIL}, {}, "api_key"),
    ],
)
def test_create_names_the_missing_field(settings: dict[str, str], secrets: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        MailgunAdapter.create(OFFLINE, settings, secrets)


async def test_create_honours_settings(wire: Wire) -> None:
    settings = {"domain": DOMAIN, "from_email": FROM_EMAIL, "base_url": "http://127.0.0.1:9/"}
    await MailgunAdapter.create(wire.http, settings, {"api_key": API_KEY}).send(email())
    assert str(wire.requests[0].url) == f"http://127.0.0.1:9/v3/{DOMAIN}/messages"


async def test_api_key_never_in_logs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter)]
    await adapter.send(email())
    for reply in (
        httpx.Response(401, text="Forbidden"),
        httpx.Response(429),
        httpx.Response(503),
        httpx.ConnectError("refused"),
    ):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(email())
        texts += [str(info.value), repr(info.value)]
    assert API_KEY not in caplog.text
    assert all(API_KEY not in t for t in texts)
