"""Follow-ups: a CRM record and an audit post after each receipt, a daily summary; never doubled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config.settings import FollowUpSettings, Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.storage.models import DeliveryRow
from app.triggers.pos import pos_event
from tests.conftest import drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]


def runtime_with(tmp_path: Path, sandbox: RunningSandbox, **followups: Any) -> Runtime:
    settings = sandbox_settings(Settings(), sandbox.url)
    settings = settings.model_copy(update={"followups": FollowUpSettings(**followups)})
    new_database(tmp_path)
    return build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))


async def test_each_receipt_gets_one_crm_record_and_one_audit_post(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = runtime_with(tmp_path, sandbox, after_delivery=["zendesk", "slack"])
    try:
        payload = sale_payload()
        payload["customer"] = {"email": "ana.garcia@example.com", "channels": ["email"]}
        await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
        runtime.start_dispatching()

        async def all_settled() -> bool:
            rows = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).all())
            return len(rows) == 3 and await drained(runtime)

        await wait_until(all_settled, timeout=15)
        store = sandbox.app.state.store
        [ticket] = store.messages(provider="zendesk")
        [post] = store.messages(provider="slack")
        assert ticket.to == ("ana.garcia@example.com",)  # the CRM record names the requester
        posted = str(post.to_dict())
        assert "ana.garcia@example.com" not in posted  # the audit post never carries the contact in clear
        assert payload["sale_id"] in posted
        # the receipt's delivery being reported again (a late callback) queues nothing more
        email = await runtime.db.read(
            lambda s: s.scalars(select(DeliveryRow).where(DeliveryRow.channel == "email")).one()
        )
        assert await runtime.followups.queue_after_delivery(email.id, email.receipt_id or "") == 0
    finally:
        await runtime.close()


async def test_the_daily_summary_goes_out_once_with_counts_only(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime = runtime_with(tmp_path, sandbox, daily_summary=["slack"])
    try:
        for i in range(3):
            payload = sale_payload(f"EOD-{i}", seed=i)
            payload["customer"] = {"email": f"c{i}@example.com", "channels": ["email"]}
            await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
        runtime.start_dispatching()
        await wait_until(lambda: drained(runtime))
        today = datetime.now(UTC).astimezone().date()
        assert await runtime.followups.send_daily_summary(today) == 1
        assert await runtime.followups.send_daily_summary(today) == 0
        await wait_until(lambda: len(sandbox.app.state.store.messages(provider="slack")) == 1, timeout=10)
        [post] = sandbox.app.state.store.messages(provider="slack")
        text = str(post.to_dict())
        assert "Receipts: 3" in text and "sent 3" in text
        assert "@example.com" not in text
    finally:
        await runtime.close()
