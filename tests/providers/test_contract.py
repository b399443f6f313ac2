"""One contract every provider adapter keeps, run over `ADAPTER_CASES` (STYLE.md habit 14).

Add an adapter by adding an `AdapterCase`: how to build it from settings + secrets, one message
for its channel, the option keys that must stay off the wire when unset, and a 2xx answer that
carries a status the adapter has never heard of.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.providers.base import ProviderAdapter
from app.providers.sendgrid import SendGridAdapter
from app.providers.twilio import TwilioAdapter
from tests.providers.support import OFFLINE


def _twilio_keys(request: httpx.Request) -> set[str]:
    return {k for k, _ in parse_qsl(request.content.decode("ascii"))}


def _sendgrid_keys(request: httpx.Request) -> set[str]:
    body = json.loads(request.content)
    personalization = {f"personalizations.0.{k}" for k in body["personalizations"][0]}
    return set(body) | {f"from.{k}" for k in body["from"]} | personalization


@dataclass(frozen=True)
class AdapterCase:
    """How the contract test drives one adapter."""

    cls: type[Any]
    settings: dict[str, str | None]
    secrets: dict[str, str | None]
    message: OutboundMessage
    wire_keys: Callable[[httpx.Request], set[str]]
    unset_keys: frozenset[str]
    ok: Callable[[], httpx.Response]
    unknown_status: Callable[[], httpx.Response]

    def build(self, http: httpx.AsyncClient) -> ProviderAdapter:
        adapter: ProviderAdapter = self.cls.create(http, self.settings, self.secrets)
        return adapter


ADAPTER_CASES = [
    AdapterCase(
        cls=TwilioAdapter,
        settings={"account_sid": "AC1234567890abcdef1234567890abcdef", "from_number": "+15005550006"},
        secrets={"auth_token": "contract-twilio-token-7a1"},
        message=OutboundMessage(Channel.SMS, to="+15558675310", idempotency_key="k-sms", sms_body="Receipt: 12.40"),
        wire_keys=_twilio_keys,
        unset_keys=frozenset(
            {"StatusCallback", "MessagingServiceSid", "MediaUrl", "ValidityPeriod", "SmartEncoded", "ContentSid"}
        ),
        ok=lambda: httpx.Response(201, json={"sid": "SM" + "0" * 32, "status": "queued"}),
        unknown_status=lambda: httpx.Response(201, json={"sid": "SM" + "1" * 32, "status": "teleported"}),
    ),
    AdapterCase(
        cls=SendGridAdapter,
        settings={"from_email": "receipts@demo-market.example"},
        secrets={"api_key": "SG.contract-sendgrid-key.3b9"},
        message=OutboundMessage(
            Channel.EMAIL, to="ana@example.com", idempotency_key="k-mail", subject="Receipt", text="Total 12.40"
        ),
        wire_keys=_sendgrid_keys,
        unset_keys=frozenset(
            {"reply_to", "reply_to_list", "categories", "attachments", "template_id", "send_at", "asm", "from.name"}
            | {"mail_settings", "tracking_settings", "personalizations.0.dynamic_template_data"}
        ),
        ok=lambda: httpx.Response(202, headers={"X-Message-Id": "abc123"}),
        unknown_status=lambda: httpx.Response(200),  # 200 = sandbox mode, never a delivery
    ),
]
IDS = [c.cls.provider_id for c in ADAPTER_CASES]


@dataclass
class Wire:
    """The outside world for one test: records requests, answers with `reply`."""

    http: httpx.AsyncClient
    reply: httpx.Response | Exception
    requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture(params=ADAPTER_CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> AdapterCase:
    chosen: AdapterCase = request.param
    return chosen


@pytest.fixture
async def wire(case: AdapterCase) -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        holder[0].requests.append(request)
        reply = holder[0].reply
        if isinstance(reply, Exception):
            raise reply
        return reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http, case.ok()))
        yield holder[0]


async def send(case: AdapterCase, wire: Wire) -> SendResult:
    return await case.build(wire.http).send(case.message)


def test_declares_itself_as_data(case: AdapterCase) -> None:
    cls = case.cls
    assert cls.__module__ == f"app.providers.{cls.provider_id}"
    assert cls.__name__.endswith("Adapter")
    assert cls.__doc__
    assert cls.capabilities.channel == case.message.channel
    assert cls.secret_fields
    assert cls.default_base_url.startswith("https://")
    names = [f.name for f in (*cls.secret_fields, *cls.setting_fields)]
    assert len(names) == len(set(names))


def test_missing_secret_fails_at_construction_naming_it(case: AdapterCase) -> None:
    for secret in (f for f in case.cls.secret_fields if f.required):
        with pytest.raises(ConfigurationError, match=secret.name):
            case.cls.create(OFFLINE, case.settings, {})


async def test_success(case: AdapterCase, wire: Wire) -> None:
    result = await send(case, wire)
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id


async def test_options_nobody_set_never_reach_the_wire(case: AdapterCase, wire: Wire) -> None:
    await send(case, wire)
    (request,) = wire.requests
    assert not (case.wire_keys(request) & case.unset_keys)


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_client_errors_are_permanent(case: AdapterCase, wire: Wire, status: int) -> None:
    wire.reply = httpx.Response(status, json={"message": "no", "errors": [{"message": "no"}]})
    with pytest.raises(PermanentProviderError) as info:
        await send(case, wire)
    assert info.value.status_code == status
    assert not isinstance(info.value, TransientProviderError)


async def test_429_is_transient_with_retry_after(case: AdapterCase, wire: Wire) -> None:
    wire.reply = httpx.Response(429, headers={"Retry-After": "3"})
    with pytest.raises(TransientProviderError) as info:
        await send(case, wire)
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_transient(case: AdapterCase, wire: Wire, status: int) -> None:
    wire.reply = httpx.Response(status, text="<html>oops</html>")
    with pytest.raises(TransientProviderError) as info:
        await send(case, wire)
    assert info.value.status_code == status


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.ReadTimeout("slow answer"), True),
    ],
    ids=["connect-error", "connect-timeout", "read-timeout"],
)
async def test_transport_failures_are_transient(
    case: AdapterCase, wire: Wire, error: Exception, ambiguous: bool
) -> None:
    wire.reply = error
    with pytest.raises(TransientProviderError) as info:
        await send(case, wire)
    assert info.value.ambiguous is ambiguous
    assert info.value.__cause__ is error


async def test_unknown_provider_status_is_unknown_never_an_error(case: AdapterCase, wire: Wire) -> None:
    wire.reply = case.unknown_status()
    result = await send(case, wire)
    assert result.status is SendStatus.UNKNOWN
    assert result.raw_status


async def test_secrets_absent_from_logs_and_errors(
    case: AdapterCase, wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = case.build(wire.http)
    texts = [repr(adapter)]
    await adapter.send(case.message)
    for reply in (httpx.Response(401), httpx.Response(429), httpx.Response(502), httpx.ReadTimeout("slow")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(case.message)
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    for secret in case.secrets.values():
        assert secret
        assert secret not in caplog.text
        assert all(secret not in t for t in texts)
