"""ZapierAdapter: the documented "receipt.sent" event, Catch Hook answers, and the hook URL kept secret.

No official Python oracle exists for Zapier (PROVIDERS.md part C); the event schema below is our
own contract with Zap authors and is pinned here. Recorded answer: zapier_catch_success.json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendStatus
from app.providers.zapier import ZapierAdapter
from tests.providers.support import FIXTURES, OFFLINE

HOOK_KEY = "zapTestHookKey9f8e7d"
HOOK = f"https://hooks.zapier.com/hooks/catch/1234567/{HOOK_KEY}/"
CUSTOMER = "ana.garcia@example.com"
META = {
    "receipt_id": "R-1",
    "sale_id": "S-1001",
    "delivery_id": "D-9",
    "store": "Demo Market",
    "total": "$42.17",
    "receipt_channel": "email",
    "state": "sent",
}
NOW = datetime(2026, 11, 28, 10, 15, 2, tzinfo=UTC)


def recorded(name: str) -> httpx.Response:
    data = json.loads((FIXTURES / name).read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


def event(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CRM,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "html": "<p>Organic bananas</p>",
        "metadata": dict(META),
    }
    return OutboundMessage(**(values | overrides))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("zapier_catch_success.json"))

    def adapter(self) -> ZapierAdapter:
        return ZapierAdapter.create(self.http, {}, {"webhook_url": HOOK})


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


def test_event_schema_is_the_documented_one() -> None:
    body = ZapierAdapter(OFFLINE, webhook_url=HOOK).build_request(event(), now=NOW)
    assert body == {
        "event": "receipt.sent",
        "version": 1,
        "receipt_id": "R-1",
        "sale_id": "S-1001",
        "delivery_id": "D-9",
        "store": "Demo Market",
        "total": "$42.17",
        "channel": "email",
        "state": "sent",
        "contact_masked": "a***@example.com",
        "sent_at": "2026-11-28T10:15:02+00:00",
        "idempotency_key": "rd-D-9",
    }
    assert "bananas" not in json.dumps(body)
    assert CUSTOMER not in json.dumps(body)


def test_unknown_fields_are_null_so_zaps_can_map_a_stable_schema() -> None:
    message = event(metadata={"sale_id": "S-2", "sent_at": "2026-11-28T11:00:00+00:00"})
    body = ZapierAdapter(OFFLINE, webhook_url=HOOK).build_request(message, now=NOW)
    assert body["store"] is None
    assert body["sent_at"] == "2026-11-28T11:00:00+00:00"
    assert set(body) == set(ZapierAdapter(OFFLINE, webhook_url=HOOK).build_request(event(), now=NOW))


def test_other_channels_are_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        ZapierAdapter(OFFLINE, webhook_url=HOOK).build_request(event(channel=Channel.CHAT))


async def test_success_answer_gives_the_request_id(wire: Wire) -> None:
    result = await wire.adapter().send(event())
    (request,) = wire.requests
    assert str(request.url) == HOOK
    assert request.headers["Content-Type"] == "application/json"
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "0190d9a0-6f2e-7b3c-9a1d-2b3c4d5e6f72"
    assert result.raw_status == "success"


@pytest.mark.parametrize(
    "reply",
    [httpx.Response(200, json={"status": "queued", "id": "x"}), httpx.Response(200, text="")],
    ids=["other-status", "silent-mode"],
)
async def test_other_answers_are_unknown(wire: Wire, reply: httpx.Response) -> None:
    wire.reply = reply
    result = await wire.adapter().send(event())
    assert result.status is SendStatus.UNKNOWN
    assert result.raw_status


@pytest.mark.parametrize("status", [400, 404, 410])
async def test_4xx_are_permanent(wire: Wire, status: int) -> None:
    wire.reply = httpx.Response(status, json={"status": "error", "message": "nope"})
    with pytest.raises(PermanentProviderError) as info:
        await wire.adapter().send(event())
    assert not isinstance(info.value, TransientProviderError)


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = httpx.Response(429, headers={"Retry-After": "5"}, json={"status": "error"})
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(event())
    assert info.value.retry_after == 5.0


async def test_hook_url_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = wire.adapter()
    await adapter.send(event())
    texts = [repr(adapter)]
    for reply in (httpx.Response(404), httpx.Response(503), httpx.ReadTimeout("slow")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(event())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert HOOK_KEY not in caplog.text
    assert all(HOOK_KEY not in t for t in texts)
