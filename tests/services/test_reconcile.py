"""Catch-up reconciliation end to end: the real runtime, a real SQLite file, the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from app.domain.errors import ValidationFailed
from app.main import Runtime
from app.sandbox.fire import fire
from app.sandbox.platforms.orders import PlatformStore
from app.sandbox.server import RunningSandbox
from app.services.reconcile import ReconcileService
from app.storage import sync as sync_store
from app.support.asgi_server import RunningServer, start_asgi_server
from app.triggers.catchup import build_pollers
from tests.conftest import authorised, wait_until

POLLED = ("shopify", "square", "stripe", "clover")


def platforms(sandbox: RunningSandbox) -> PlatformStore:
    store: PlatformStore = sandbox.app.state.platforms  # type: ignore[attr-defined]
    return store


def reconcile(runtime: Runtime) -> ReconcileService:
    assert runtime.reconcile is not None
    return runtime.reconcile


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[RunningServer]:
    server = await start_asgi_server(runtime.local_api(), name="api")
    yield server
    await server.stop()


async def send(
    sandbox: RunningSandbox, app_url: str, platform: str, *, seed: int, missed: bool, topic: str | None = None
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        lines, ok = await fire(
            client, platform, app_url=app_url, sandbox_url=sandbox.url, seed=seed, missed=missed, topic=topic
        )
    assert ok, lines


@pytest.mark.parametrize("platform", POLLED)
async def test_a_missed_webhook_is_found_once(platform: str, runtime: Runtime, sandbox: RunningSandbox) -> None:
    await send(sandbox, "http://127.0.0.1:1", platform, seed=3, missed=True)
    assert await runtime.receipts.count() == 0
    [first] = await reconcile(runtime).sync(platform)
    assert first.ok and first.new == 1 and first.known == 0, first
    assert await runtime.receipts.count() == 1
    [second] = await reconcile(runtime).sync(platform)
    assert second.ok and second.new == 0 and second.known == 1, second
    assert await runtime.receipts.count() == 1


@pytest.mark.parametrize("platform", POLLED)
async def test_a_webhook_and_a_poll_of_one_order_give_one_receipt(
    platform: str, runtime: Runtime, sandbox: RunningSandbox, api: RunningServer
) -> None:
    await send(sandbox, api.url, platform, seed=5, missed=False)
    assert await runtime.receipts.count() == 1
    [report] = await reconcile(runtime).sync(platform)
    assert report.ok and report.new == 0 and report.known == 1, report
    assert await runtime.receipts.count() == 1


async def test_a_clover_refund_whose_notification_was_missed_is_found_by_the_poll_once(
    runtime: Runtime, sandbox: RunningSandbox, api: RunningServer
) -> None:
    await send(sandbox, api.url, "clover", seed=7, missed=False)  # the sale, by its notification
    [receipt] = await runtime.receipts.list(limit=10)
    await send(sandbox, api.url, "clover", seed=7, missed=True, topic="refund")  # refunded while offline
    assert [u.status for u in (await runtime.receipts.get(receipt.receipt_id)).updates] == []
    [found] = await reconcile(runtime).sync("clover")
    assert found.ok and (found.new, found.known) == (1, 0), found
    [refund] = (await runtime.receipts.get(receipt.receipt_id)).updates
    assert refund.status == "refunded" and refund.source == "clover"
    assert refund.text and "We refunded $" in refund.text and refund.subject.startswith("Your refund of $")
    [again] = await reconcile(runtime).sync("clover")
    assert again.ok and again.new == 0 and again.known == 1, again
    assert len((await runtime.receipts.get(receipt.receipt_id)).updates) == 1


async def test_a_failed_poll_keeps_the_last_success(runtime: Runtime, sandbox: RunningSandbox) -> None:
    service = reconcile(runtime)
    [ok] = await service.sync("shopify")
    assert ok.ok
    before = await runtime.db.read(lambda s: sync_store.load(s, "shopify"))
    assert before is not None and before.last_success_at is not None
    platforms(sandbox).outage = 500
    [failed] = await service.sync("shopify")
    assert not failed.ok and "500" in (failed.error or "")
    after = await runtime.db.read(lambda s: sync_store.load(s, "shopify"))
    assert after is not None and after.last_success_at == before.last_success_at
    assert after.last_error and "500" in after.last_error
    assert after.last_attempt_at is not None and after.last_attempt_at > before.last_success_at
    # the next window starts from the last success (minus the overlap), so nothing missed is lost
    platforms(sandbox).outage = None
    await send(sandbox, "http://127.0.0.1:1", "shopify", seed=7, missed=True)
    [again] = await service.sync("shopify")
    assert again.ok and again.new == 1 and again.since == before.last_success_at - service.overlap


async def test_health_shows_the_last_sync(runtime: Runtime, sandbox: RunningSandbox, api: RunningServer) -> None:
    await reconcile(runtime).sync()
    platforms(sandbox).outage = 503
    await reconcile(runtime).sync("stripe")
    health = await runtime.health.check()
    by_name = {s.platform: s for s in health.platform_sync}
    assert set(POLLED) <= set(by_name)
    assert by_name["shopify"].state == "ok" and by_name["shopify"].last_success_at is not None
    assert by_name["stripe"].state == "failing" and "503" in (by_name["stripe"].last_error or "")
    async with httpx.AsyncClient(headers=await authorised(runtime, "receipts:read")) as client:
        body = (await client.get(f"{api.url}/v1/health")).json()
    synced = {s["platform"]: s for s in body["platform_sync"]}
    assert synced["square"]["state"] == "ok" and synced["square"]["last_success_at"]
    assert synced["stripe"]["state"] == "failing"


async def test_the_loop_polls_at_start_and_retries_sooner_after_a_failure(
    runtime: Runtime, sandbox: RunningSandbox
) -> None:
    store = platforms(sandbox)
    store.outage = 503  # offline at start-up
    await send(sandbox, "http://127.0.0.1:1", "square", seed=11, missed=True)
    service = reconcile(runtime)
    service.retry = timedelta(seconds=0.1)
    service.interval = timedelta(minutes=5)
    service.start()
    try:
        await wait_until(lambda: store.requests["square"] >= 2, timeout=10)  # start-up poll + a quick retry
        store.outage = None  # the network is back: the next retry finds the missed order
        await wait_until(runtime.receipts.count, timeout=10)
        assert await runtime.receipts.count() == 1
    finally:
        await service.stop()


async def test_a_platform_without_polling_credentials_is_not_configured(runtime: Runtime) -> None:
    sections = {"shopify": {"shop": "example.myshopify.com"}, "stripe": {}, "square": {}}
    pollers, missing = build_pollers(sections, runtime.http, lambda platform, field: None, store_id="store-0042")
    assert pollers == {} and set(missing) == {"shopify", "square", "stripe"}
    service = ReconcileService(runtime.db, runtime.intake, pollers, not_configured=missing)
    assert {s.state for s in await service.status()} == {"not configured"}
    with pytest.raises(ValidationFailed):
        await service.sync("stripe")
    service.start()
    assert not service.running  # nothing to poll
