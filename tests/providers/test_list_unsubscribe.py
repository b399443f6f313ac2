"""Every e-mail adapter puts List-Unsubscribe and List-Unsubscribe-Post on the wire, through its sandbox stand-in
over loopback HTTP; Microsoft Graph, whose sendMail takes only `x-` headers, leaves them to the footer line."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.message import OutboundMessage, SendStatus
from app.domain.unsubscribe import UnsubscribeRoute
from app.main.edges import build_adapters
from app.providers.base import ProviderAdapter
from app.providers.msgraph import MsGraphAdapter
from app.sandbox.server import RunningSandbox

TOKEN = "q3Jd0fW2xZk8LmN4pR6sT9vA"
ROUTE = UnsubscribeRoute("unsubscribe@demo-market.example", "https://lane3.store.example")
HEADERS = ROUTE.headers(TOKEN)
CARRIERS = ("sendgrid", "mailgun", "mandrill", "postmark", "ses", "gmail")


@pytest.fixture
async def adapters(sandbox: RunningSandbox) -> AsyncIterator[dict[str, ProviderAdapter]]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        settings = sandbox_settings(Settings(), sandbox.url, routing={Channel.EMAIL: [*CARRIERS, "msgraph"]})
        built, _ = build_adapters(settings, http, sandbox_secrets(sandbox.url))
        yield built


def message(key: str) -> OutboundMessage:
    return OutboundMessage(
        Channel.EMAIL,
        "ana.garcia@example.com",
        key,
        subject="Your receipt from Demo Market",
        text="Total $12.34",
        html="<p>Total $12.34</p>",
        headers=HEADERS,
    )


def test_the_headers_follow_rfc_8058() -> None:
    assert {
        "List-Unsubscribe": (
            f"<https://lane3.store.example/unsubscribe/{TOKEN}>, "
            f"<mailto:unsubscribe+{TOKEN}@demo-market.example?subject=unsubscribe%20{TOKEN}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    } == HEADERS
    assert UnsubscribeRoute("unsubscribe@demo-market.example").headers(TOKEN) == {
        "List-Unsubscribe": f"<mailto:unsubscribe+{TOKEN}@demo-market.example?subject=unsubscribe%20{TOKEN}>"
    }


async def test_every_email_adapter_carries_the_headers_to_its_stand_in(
    adapters: dict[str, ProviderAdapter], sandbox: RunningSandbox
) -> None:
    for provider in CARRIERS:
        result = await adapters[provider].send(message(f"k-{provider}"))
        assert result.status is SendStatus.ACCEPTED, provider
        [record] = sandbox.app.state.store.messages(provider=provider)
        # A whole MIME message (Gmail) folds the long header; unfolded, only whitespace differs (RFC 5322 § 2.2.3).
        carried = {name: " ".join(str(record.headers.get(name)).split()) for name in HEADERS}
        assert carried == HEADERS, provider


def test_graph_sends_no_list_unsubscribe_because_sendmail_takes_only_x_headers(
    adapters: dict[str, ProviderAdapter],
) -> None:
    graph = adapters["msgraph"]
    assert isinstance(graph, MsGraphAdapter)
    _, body = graph.build_request(message("k-graph"))
    names = [h["name"] for h in body["message"]["internetMessageHeaders"]]
    assert all(name.lower().startswith("x-") for name in names)
