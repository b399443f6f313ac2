"""Random bodies and headers at every webhook endpoint: never a 500, never a receipt or an order update."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.main import build_runtime
from app.storage.models import OrderUpdateRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised

ENDPOINTS = [
    "/webhooks/shopify",
    "/webhooks/square",
    "/webhooks/stripe",
    "/webhooks/clover",
    "/webhooks/toast",
    "/webhooks/zapier",
    "/webhooks/hubspot",
    "/webhooks/twilio/status",
    "/webhooks/sendgrid/events",
    "/webhooks/mailgun/events",
    "/webhooks/postmark/events",
    "/webhooks/mandrill/events",
    "/v1/sales",
]
HEADER_NAMES = st.sampled_from(
    [
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Topic",
        "x-square-hmacsha256-signature",
        "Stripe-Signature",
        "X-Clover-Auth",
        "Toast-Signature",
        "X-ReceiptDesk-Secret",
        "X-HubSpot-Signature-v3",
        "X-HubSpot-Request-Timestamp",
        "X-Twilio-Signature",
        "X-Twilio-Email-Event-Webhook-Signature",
        "X-Twilio-Email-Event-Webhook-Timestamp",
        "X-Mandrill-Signature",
        "Authorization",
        "Content-Type",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=256).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)


class Served:
    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        settings_ = sandbox_settings(Settings(), "http://127.0.0.1:9")
        self.runtime = build_runtime(settings_, data=tmp, secrets=sandbox_secrets("http://127.0.0.1:9"))
        self.server = self.loop.run_until_complete(self._start())
        # One client for every request (making one loads the CA bundle, a few hundredths of a second each).
        self.client = httpx.AsyncClient(base_url=self.server.url, timeout=10)
        # /v1 bodies reach the sale parser only past the token and the JSON content type.
        token = self.loop.run_until_complete(authorised(self.runtime, "sales:write"))
        self.v1_headers = {**token, "Content-Type": "application/json"}

    async def _start(self):  # type: ignore[no-untyped-def]
        return await start_asgi_server(self.runtime.local_api(), name="api")

    def count(self) -> int:
        """Receipts and order updates recorded: a forged or mangled request must leave none."""
        receipts = self.loop.run_until_complete(self.runtime.receipts.count())
        updates = self.loop.run_until_complete(
            self.runtime.db.read(lambda s: s.scalar(select(func.count()).select_from(OrderUpdateRow)))
        )
        return receipts + int(updates or 0)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        async def go() -> int:
            sent = {**self.v1_headers, **headers} if path.startswith("/v1/") else headers
            return (await self.client.post(path, content=body, headers=sent)).status_code

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.server.stop())
        self.loop.run_until_complete(self.runtime.close())
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = Served(tmp_path_factory.mktemp("fuzz"))
    yield app
    app.close()


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(ENDPOINTS),
    body=BODIES,
    headers=st.dictionaries(
        HEADER_NAMES, st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60), max_size=4
    ),
)
def test_random_requests_never_500_and_never_a_receipt(
    served: Served, path: str, body: bytes, headers: dict[str, str]
) -> None:
    status = served.post(path, body, headers)
    assert status < 500, (path, status)
    assert served.count() == 0
