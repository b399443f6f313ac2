"""The sandbox acts as each commerce platform and fires signed webhooks the demo's app accepts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.main import build_runtime
from app.sandbox.fire import fire
from app.sandbox.platforms.registry import STAND_INS
from app.sandbox.server import RunningSandbox
from app.support.asgi_server import start_asgi_server
from tests.conftest import new_database
from tests.system.processes import ROOT


@pytest.mark.parametrize("platform", sorted(STAND_INS))
async def test_each_fired_platform_webhook_becomes_a_receipt(
    platform: str, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    new_database(tmp_path)
    runtime = build_runtime(
        sandbox_settings(Settings(), sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url)
    )
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        async with httpx.AsyncClient() as client:
            lines, ok = await fire(client, platform, app_url=server.url, sandbox_url=sandbox.url, seed=4)
        assert ok and " 202 " in lines[-1], lines
        assert await runtime.receipts.count() == 1
    finally:
        await server.stop()
        await runtime.close()


async def test_the_fire_command(tmp_path: Path, sandbox: RunningSandbox) -> None:
    new_database(tmp_path)
    runtime = build_runtime(
        sandbox_settings(Settings(), sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url)
    )
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "sandbox",
            "fire",
            "shopify",
            "orders/paid",
            "--to",
            server.url,
            "--sandbox",
            sandbox.url,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == 0, err.decode()
        assert b"202" in out
        assert await runtime.receipts.count() == 1
    finally:
        await server.stop()
        await runtime.close()


async def test_a_missed_order_is_kept_for_the_sync_command(tmp_path: Path, sandbox: RunningSandbox) -> None:
    settings = sandbox_settings(Settings(), sandbox.url)
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    try:
        async with httpx.AsyncClient() as client:
            lines, ok = await fire(
                client, "square", app_url="http://127.0.0.1:1", sandbox_url=sandbox.url, seed=6, missed=True
            )
        assert ok and "not sent" in lines[-1], lines
        assert await runtime.receipts.count() == 0
        assert runtime.reconcile is not None
        [report] = await runtime.reconcile.sync("square")
        assert report.new == 1
        assert await runtime.receipts.count() == 1
    finally:
        await runtime.close()


@pytest.mark.parametrize(
    ("platform", "topics", "statuses"),
    [
        (
            "shopify",
            ["fulfillments/create", "fulfillments/update", "refunds/create"],
            ["partially_shipped", "refunded"],
        ),
        ("shopify", ["orders/cancelled"], ["cancelled"]),
        ("stripe", ["charge.refunded"], ["refunded"]),
    ],
)
async def test_fired_order_updates_join_the_receipt_of_their_order(
    platform: str, topics: list[str], statuses: list[str], tmp_path: Path, sandbox: RunningSandbox
) -> None:
    new_database(tmp_path)
    runtime = build_runtime(
        sandbox_settings(Settings(), sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url)
    )
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        async with httpx.AsyncClient() as client:
            for topic in [None, *topics]:  # the sale first, then what happened to the order
                lines, ok = await fire(
                    client, platform, app_url=server.url, sandbox_url=sandbox.url, topic=topic, seed=5
                )
                assert ok and " 202 " in lines[-1], lines
        [summary] = await runtime.receipts.list(limit=10)
        detail = await runtime.receipts.get(summary.receipt_id)
        assert [u.status for u in detail.updates] == statuses  # fulfillments/update told nothing new
        assert all(u.delivery_ids for u in detail.updates)  # each went to the customer
    finally:
        await server.stop()
        await runtime.close()
