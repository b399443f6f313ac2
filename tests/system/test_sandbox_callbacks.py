"""The sandbox sends the callbacks real providers would; the app verifies them and deliveries reach `delivered`."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.main import build_runtime
from app.sandbox.server import RunningSandbox
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, new_database, wait_until

Payload = Callable[..., dict[str, Any]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sandbox_callbacks_settle_deliveries_and_bounces_fall_back(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    new_database(tmp_path)
    runtime = build_runtime(
        sandbox_settings(Settings(), sandbox.url, public_url=api_url),
        data=tmp_path,
        secrets=sandbox_secrets(sandbox.url),
    )
    server = await start_asgi_server(runtime.local_api(), port=port, name="api")
    sandbox.app.state.callbacks.configure({"sendgrid_event_url": f"{api_url}/webhooks/sendgrid/events", "delay": 0.05})
    try:
        async with httpx.AsyncClient(base_url=api_url, headers=await authorised(runtime)) as client:
            ok = sale_payload("CB-1")
            ok["customer"] = {"email": "ana@example.com", "phone": "+12175550142", "channels": ["email", "sms"]}
            assert (await client.post("/v1/sales", json=ok)).status_code == 202
            runtime.start_dispatching()

            async def states() -> list[str]:
                return sorted(await runtime.db.read(lambda s: s.scalars(select(DeliveryRow.state)).all()))

            await wait_until(lambda: _equals(states(), ["delivered", "delivered"]), timeout=15)

            sandbox.app.state.callbacks.configure({"bounce_rate": 1.0})
            gone = sale_payload("CB-2", seed=2)
            gone["customer"] = {"email": "gone@example.com", "phone": "+12175550199", "channels": ["email"]}
            assert (await client.post("/v1/sales", json=gone)).status_code == 202
            await wait_until(lambda: _equals(states(), ["bounced", "delivered", "delivered"]), timeout=15)
    finally:
        await server.stop()
        await runtime.close()


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
