"""Every channel can be routed to any provider the sandbox stands in for, with no account."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.main import build_runtime
from app.providers.registry import ADAPTERS
from app.sandbox.server import RunningSandbox
from app.triggers.pos import pos_event
from tests.conftest import drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
# Every email provider of the registry: a new one is carried end to end here with no edit.
EMAIL_PROVIDERS = [p for p, cls in ADAPTERS.items() if cls.capabilities.channel is Channel.EMAIL]


@pytest.mark.parametrize("provider", EMAIL_PROVIDERS)
async def test_email_receipts_through_each_provider(
    provider: str, tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    settings = sandbox_settings(Settings(), sandbox.url, routing={Channel.EMAIL: provider})
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    try:
        payload = sale_payload()
        payload["customer"] = {"email": "ana@example.com", "channels": ["email"]}
        event = pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow())
        result = await runtime.checkout.accept(event)
        runtime.start_dispatching()
        await wait_until(lambda: drained(runtime))
        detail = await runtime.receipts.get(result.receipt_id)
        [delivery] = detail.deliveries
        assert delivery.provider == provider and delivery.state.value in ("sent", "delivered"), delivery
        [message] = sandbox.app.state.store.messages(provider=provider)
        assert message.to == ("ana@example.com",)
        assert message.idempotency_key == f"rd-{delivery.id}"
    finally:
        await runtime.close()
