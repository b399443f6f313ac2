"""FreshdeskAdapter: outbound-email body, Basic `apikey:X` auth, ticket id, errors.

No official Python oracle exists for Freshdesk (PROVIDERS.md part C): the body is checked against
the documented fields and, independently, the sandbox's validator. Recorded answers are in
tests/fixtures/providers/freshdesk_*.json.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.freshdesk import FreshdeskAdapter
from app.sandbox import freshdesk as freshdesk_sandbox
from tests.providers.support import FIXTURES, OFFLINE

API_KEY = "fd-test-api-key-Zx81Qw"
CONFIG_ID = "5000000001"
CUSTOMER = "ana.garcia@example.com"


def recorded(name: str) -> httpx.Response:
    data = json.loads((FIXTURES / name).read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


def crm(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CRM,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "subject": "Your receipt from Demo Market",
        "html": "<p>Total <b>$42.17</b></p>",
        "text": "Total $42.17",
        "metadata": {"receipt_id": "R-1", "sale_id": "S-1001"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> FreshdeskAdapter:
    kwargs: dict[str, Any] = {"api_key": API_KEY, "domain": "demo-market", "email_config_id": CONFIG_ID}
    return FreshdeskAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("freshdesk_outbound_email_201.json"))


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


async def test_request_url_auth_and_body(wire: Wire) -> None:
    result = await make(wire.http).send(crm())
    (request,) = wire.requests
    assert str(request.url) == "https://demo-market.freshdesk.com/api/v2/tickets/outbound_email"
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(token).decode()) == ("Basic", f"{API_KEY}:X")
    assert json.loads(request.content) == {
        "email": CUSTOMER,
        "subject": "Your receipt from Demo Market",
        "description": "<p>Total <b>$42.17</b></p>",
        "status": 5,
        "priority": 1,
        "email_config_id": 5000000001,
        "tags": ["receiptdesk"],
    }
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "1042"
    assert result.raw_status == "201"


def test_body_passes_the_sandbox_validator_an_independent_reading_of_the_docs() -> None:
    _, body = make().build_request(crm())
    assert freshdesk_sandbox.validate(body, frozenset({int(CONFIG_ID)})) == []


def test_text_only_is_escaped_into_html_and_subject_falls_back_to_the_sale() -> None:
    _, body = make().build_request(crm(html=None, text="1 x <Bananas> & co", subject=None))
    assert body["description"] == "<pre>1 x &lt;Bananas&gt; &amp; co</pre>"
    assert body["subject"] == "Your receipt S-1001"


def test_status_setting_and_name_option() -> None:
    _, body = make(status="2").build_request(crm(provider_extra={"name": "Ana Garcia"}))
    assert body["status"] == 2
    assert body["name"] == "Ana Garcia"
    _, plain = make().build_request(crm())
    assert "name" not in plain


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"domain": "demo.market/evil"}, "domain"),
        ({"email_config_id": "abc"}, "email_config_id"),
        ({"status": "9"}, "status"),
        ({"domain": ""}, "domain"),
    ],
)
def test_bad_settings_fail_at_construction(settings: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        make(OFFLINE, **settings)


def test_domain_may_be_the_full_host_and_base_url_overrides_it() -> None:
    assert "https://demo-market.freshdesk.com" in repr(make(domain="Demo-Market.freshdesk.com"))
    assert "http://127.0.0.1:9" in repr(make(base_url="http://127.0.0.1:9/"))


@pytest.mark.parametrize(
    "message",
    [crm(channel=Channel.EMAIL), crm(attachments=(Attachment("r.pdf", "application/pdf", b"%PDF"),))],
    ids=["wrong-channel", "attachment"],
)
def test_unsupported(message: OutboundMessage) -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(message)


def test_empty_message_is_refused_before_sending() -> None:
    with pytest.raises(PermanentProviderError):
        make().build_request(crm(html=None, text=None))


async def test_validation_errors_are_permanent_and_name_the_fields(wire: Wire) -> None:
    wire.reply = recorded("freshdesk_error_400.json")
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(crm())
    assert "email_config_id: There is no email_config" in str(info.value)
    assert "Validation failed" in str(info.value)


async def test_bad_key_is_permanent(wire: Wire) -> None:
    wire.reply = recorded("freshdesk_error_401.json")
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(crm())
    assert info.value.code == "invalid_credentials"


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = recorded("freshdesk_error_429.json")
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(crm())
    assert info.value.retry_after == 41.0


async def test_a_2xx_other_than_201_is_unknown(wire: Wire) -> None:
    wire.reply = httpx.Response(200, json={"id": 7})
    result = await make(wire.http).send(crm())
    assert (result.status, result.provider_message_id) == (SendStatus.UNKNOWN, "7")


async def test_key_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    await adapter.send(crm())
    texts = [repr(adapter)]
    for reply in (recorded("freshdesk_error_401.json"), recorded("freshdesk_error_429.json"), httpx.ReadTimeout("t")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(crm())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert API_KEY not in caplog.text
    assert all(API_KEY not in t for t in texts)
