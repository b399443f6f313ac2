"""TeamsAdapter: Adaptive Card message shape, masked contact only, answers, and the URL kept secret.

No official Python SDK builds Workflows posts (PROVIDERS.md part C), so the body is checked against
the documented wrapper and, independently, against the sandbox's validator. Recorded answers are in
tests/fixtures/providers/teams_responses.json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendStatus
from app.providers.teams import TeamsAdapter
from app.sandbox import teams as teams_sandbox
from tests.providers.support import FIXTURES, OFFLINE

SIG = "teamsTestSig0123456789abcdef"
FLOW = (
    "https://prod-12.westus.logic.azure.com:443/workflows/5f0c9e7a1b2c4d3e8f9a0b1c2d3e4f5a/triggers/manual/paths/"
    f"invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
CUSTOMER = "+15558675310"
META = {"receipt_id": "R-1", "sale_id": "S-1001", "store": "Demo Market", "total": "$42.17", "state": "failed"}
RESPONSES: dict[str, Any] = json.loads((FIXTURES / "teams_responses.json").read_text())


def recorded(name: str) -> httpx.Response:
    data = RESPONSES[name]
    body = data["body"]
    if isinstance(body, dict):
        return httpx.Response(data["status"], headers=data["headers"], json=body)
    return httpx.Response(data["status"], headers=data["headers"], text=body)


def audit(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CHAT,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "sms_body": "Demo Market receipt: bananas $1.99, total $42.17",
        "html": "<p>Organic bananas</p>",
        "metadata": dict(META),
    }
    return OutboundMessage(**(values | overrides))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("accepted"))

    def adapter(self) -> TeamsAdapter:
        return TeamsAdapter.create(self.http, {}, {"workflow_url": FLOW})


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


async def test_posts_an_adaptive_card_message_to_the_flow_url(wire: Wire) -> None:
    result = await wire.adapter().send(audit())
    (request,) = wire.requests
    assert request.url == httpx.URL(FLOW)
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers  # the SAS signature in the URL is the credential
    body = json.loads(request.content)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment == {"contentType": "application/vnd.microsoft.card.adaptive", "content": attachment["content"]}
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0]["text"] == "Receipt failed"
    assert card["body"][1] == {
        "type": "FactSet",
        "facts": [
            {"title": "Store", "value": "Demo Market"},
            {"title": "Sale", "value": "S-1001"},
            {"title": "Total", "value": "$42.17"},
            {"title": "State", "value": "failed"},
            {"title": "Contact", "value": "(***) ***-5310"},
        ],
    }
    assert card["body"][2]["text"] == "Reference rd-D-9"
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "08584612345678901234567890123CU01"


def test_card_never_holds_the_receipt_or_the_raw_contact() -> None:
    text = json.dumps(TeamsAdapter(OFFLINE, workflow_url=FLOW).build_request(audit()))
    for leak in ("bananas", CUSTOMER, "8675310"):
        assert leak not in text


def test_card_passes_the_sandbox_validator_an_independent_reading_of_the_format() -> None:
    body = TeamsAdapter(OFFLINE, workflow_url=FLOW).build_request(audit())
    assert teams_sandbox.validate(body) is None
    assert len(json.dumps(body).encode()) < teams_sandbox.MAX_BYTES


def test_facts_nobody_set_never_reach_the_wire() -> None:
    card = TeamsAdapter(OFFLINE, workflow_url=FLOW).build_request(audit(metadata={}, to=""))["attachments"][0]
    assert [e["type"] for e in card["content"]["body"]] == ["TextBlock", "TextBlock"]
    assert "contentUrl" not in card
    assert card["content"]["body"][0]["text"] == "Receipt"


def test_other_channels_are_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        TeamsAdapter(OFFLINE, workflow_url=FLOW).build_request(audit(channel=Channel.SMS))


@pytest.mark.parametrize(
    ("reply", "status", "ident"),
    [
        (httpx.Response(200), SendStatus.ACCEPTED, None),
        (httpx.Response(201, headers={"x-ms-workflow-run-id": "r1"}), SendStatus.UNKNOWN, "r1"),
    ],
    ids=["200-response-action", "201-unheard-of"],
)
async def test_other_2xx(wire: Wire, reply: httpx.Response, status: SendStatus, ident: str | None) -> None:
    wire.reply = reply
    result = await wire.adapter().send(audit())
    assert (result.status, result.provider_message_id) == (status, ident)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bad_signature", "DirectApiInvalidAuthorizationSignature"),
        ("flow_off", "WorkflowNotFound"),
        ("too_large", None),
    ],
)
async def test_4xx_are_permanent(wire: Wire, name: str, code: str | None) -> None:
    wire.reply = recorded(name)
    with pytest.raises(PermanentProviderError) as info:
        await wire.adapter().send(audit())
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == code
    assert info.value.status_code == RESPONSES[name]["status"]


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = recorded("throttled")
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(audit())
    assert info.value.retry_after == 7.0
    assert info.value.code == "WorkflowRequestsThrottled"


async def test_signature_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = wire.adapter()
    await adapter.send(audit())
    assert "prod-12.westus.logic.azure.com" in caplog.text
    texts = [repr(adapter)]
    for reply in (recorded("bad_signature"), recorded("throttled"), httpx.ConnectError("refused")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(audit())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert SIG not in caplog.text
    assert all(SIG not in t for t in texts)
