"""Receipts sent with the store's own template, through the dispatcher and the real sandbox over loopback.

The data the sandbox received must validate against `docs/receipt-data.schema.json`; a template the
provider refuses is followed, once, by the same receipt in our own rendering.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.receipt_design import OWN_DESIGN, receipt_design
from app.domain.records import TEMPLATE_REFUSED
from app.main import Runtime, build_runtime
from app.providers.base import ProviderAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.sendgrid import SendGridAdapter
from app.sandbox.server import RunningSandbox
from app.services.attempts import takes_receipt_data
from tests.conftest import EMAIL_ONLY, drained, fast_settings, new_database, wait_until
from tests.providers.support import OFFLINE
from tests.unsubscribe_support import as_sent

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "receipt-data.schema.json").read_text("utf-8"))
TEMPLATES = {"sendgrid": "d-5a1e9c0b7f2d4e8a", "postmark": "receipt", "mandrill": "store-receipt"}


def with_template(sandbox_url: str, provider: str, template_id: str) -> Settings:
    """The sandbox settings with e-mail routed to `provider` alone, which has the store's template."""
    settings = fast_settings(sandbox_url)
    providers = {name: dict(values) for name, values in settings.providers.items()}
    providers[provider] = {**providers.get(provider, {}), "template_id": template_id}
    routing = {**settings.routing, Channel.EMAIL: provider}
    return settings.model_copy(update={"providers": providers, "routing": routing})


@pytest.fixture
async def store_runtime(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Callable[[str, str], Runtime]]:
    built: list[Runtime] = []

    def build(provider: str, template_id: str) -> Runtime:
        new_database(tmp_path / f"{provider}-{len(built)}")
        rt = build_runtime(
            with_template(sandbox.url, provider, template_id),
            data=tmp_path / f"{provider}-{len(built)}",
            secrets=sandbox_secrets(sandbox.url),
        )
        built.append(rt)
        return rt

    yield build
    for rt in built:
        await rt.close()


async def send_one(rt: Runtime, sale_payload: Callable[..., dict[str, Any]], seed: int = 3) -> str:
    payload = sale_payload(seed=seed)
    payload["customer"] = dict(EMAIL_ONLY)
    event = TriggerEvent("pos-api", f"e-{seed}", parse_sale(payload), datetime.now(UTC))
    receipt_id = (await rt.checkout.accept(event)).receipt_id
    rt.start_dispatching()
    await wait_until(lambda: drained(rt))
    return receipt_id


async def test_a_store_with_a_template_gets_a_template_send_with_the_receipts_data(
    store_runtime: Callable[[str, str], Runtime],
    sandbox: RunningSandbox,
    sale_payload: Callable[..., dict[str, Any]],
) -> None:
    runtimes = {provider: store_runtime(provider, template) for provider, template in TEMPLATES.items()}
    receipts = await asyncio.gather(*(send_one(rt, sale_payload, seed) for seed, rt in enumerate(runtimes.values())))
    for (provider, rt), receipt_id in zip(runtimes.items(), receipts, strict=True):
        detail = await rt.receipts.get(receipt_id)
        assert [d.state for d in detail.deliveries] == [DeliveryState.SENT], provider
        [message] = sandbox.app.state.store.messages(provider=provider)
        assert message.template_id == TEMPLATES[provider]
        assert message.html_length is None  # the template is the design
        jsonschema.Draft202012Validator(SCHEMA).validate(message.template_data)
        assert message.template_data["sale"]["id"] == detail.summary.sale_id
        assert message.template_data["totals"]["total"]["amount"] == f"{detail.summary.total:.2f}"
        design = receipt_design(detail, primary=provider, providers=rt.settings.providers, name=_name)
        assert design.startswith(f"Sent with {_name(provider)} template {TEMPLATES[provider]}; ")


async def test_a_refused_template_is_followed_once_by_our_own_rendering(
    store_runtime: Callable[[str, str], Runtime],
    sandbox: RunningSandbox,
    sale_payload: Callable[..., dict[str, Any]],
) -> None:
    # A template the sandbox account does not have, at each provider.
    runtimes = {provider: store_runtime(provider, "missing-receipt") for provider in TEMPLATES}
    receipts = await asyncio.gather(*(send_one(rt, sale_payload, seed) for seed, rt in enumerate(runtimes.values())))
    for (provider, rt), receipt_id in zip(runtimes.items(), receipts, strict=True):
        detail = await rt.receipts.get(receipt_id)
        [delivery] = detail.deliveries
        assert delivery.state is DeliveryState.SENT, provider
        refused, sent = detail.attempts[delivery.id]
        assert (refused.outcome, sent.outcome) == (TEMPLATE_REFUSED, "sent")
        assert refused.error and "own design instead" in refused.error
        [message] = sandbox.app.state.store.messages(provider=provider)
        assert message.template_id is None and message.template_data is None
        assert message.subject == detail.subject and message.text == as_sent(None, detail.text, message.headers)[1]
        design = receipt_design(detail, primary=provider, providers=rt.settings.providers, name=_name)
        assert design == f"{OWN_DESIGN} ({_name(provider)} refused template missing-receipt)"


def _name(provider: str) -> str:
    return {"sendgrid": "SendGrid", "postmark": "Postmark", "mandrill": "Mandrill"}[provider]


def test_a_receipts_data_is_read_only_for_a_provider_with_the_stores_template() -> None:
    """The data is what a template send carries; a provider sending our own rendering never sees it, so the
    dispatcher does not read it (a JSON document per e-mail) for one."""
    key = {"sendgrid": "api_key", "postmark": "server_token", "mandrill": "api_key"}
    kinds = {"sendgrid": SendGridAdapter, "postmark": PostmarkAdapter, "mandrill": MandrillAdapter}

    def adapter(name: str, template_id: str | None) -> ProviderAdapter:
        return kinds[name](OFFLINE, from_email="r@example.com", template_id=template_id, **{key[name]: "k"})

    assert [takes_receipt_data(adapter(name, template)) for name, template in TEMPLATES.items()] == [True] * 3
    assert [takes_receipt_data(adapter(name, None)) for name in TEMPLATES] == [False] * 3
