"""Every channel a sale can ask for reaches its configured provider: a sale posted to the local API
over loopback with one channel, the real dispatcher, and the sandbox's stand-ins (the lane's printer
is the dummy, whose spool file holds the printed bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
ROUTING: dict[Channel, str | list[str]] = {
    Channel.EMAIL: "sendgrid",
    Channel.SMS: "twilio",
    Channel.WHATSAPP: "twilio_whatsapp",
    Channel.PUSH: "fcm",
}
CUSTOMER = {"email": "ana@example.com", "phone": "+12175550177", "loyalty_id": "L-4410"}
DEVICE = "fcm-token-every-channel-0000000001"


@pytest.fixture
async def rt(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    settings = sandbox_settings(Settings(), sandbox.url, routing=ROUTING)
    printer = settings.printer.model_copy(update={"spool": str(tmp_path / "spool.escpos")})
    new_database(tmp_path)
    runtime = build_runtime(
        settings.model_copy(update={"printer": printer}), data=tmp_path, secrets=sandbox_secrets(sandbox.url)
    )
    yield runtime
    await runtime.close()


@pytest.fixture
async def api(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    server = await start_asgi_server(rt.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=await authorised(rt, "sales:write")) as client:
        yield client
    await server.stop()


@pytest.mark.parametrize(
    ("channel", "provider", "arrived"),
    [
        ("email", "sendgrid", lambda m: m.to == (CUSTOMER["email"],)),
        ("sms", "twilio", lambda m: m.to == (CUSTOMER["phone"],)),
        ("whatsapp", "twilio_whatsapp", lambda m: m.to == ("whatsapp:" + CUSTOMER["phone"],)),
        ("push", "fcm", lambda m: m.to == (DEVICE,)),
        ("print", "printer", None),
    ],
)
async def test_a_sale_asking_for_one_channel_reaches_its_provider(
    api: httpx.AsyncClient,
    rt: Runtime,
    sandbox: RunningSandbox,
    sale_payload: Payload,
    tmp_path: Path,
    channel: str,
    provider: str,
    arrived: Callable[[Any], bool] | None,
) -> None:
    if channel == "push":  # the store's app registered the member's phone
        device = {"loyalty_id": CUSTOMER["loyalty_id"], "token": DEVICE, "platform": "android"}
        registered = await api.post("/v1/customers/devices", json=device, headers=await authorised(rt, "devices:write"))
        assert registered.status_code == 201, registered.text
    sale = sale_payload(f"S-{channel}", with_customer=True)
    sale["customer"] = {**CUSTOMER, "channels": [channel]}
    response = await api.post("/v1/sales", json=sale)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["warnings"] == [] and [(d["channel"], d["provider"]) for d in body["deliveries"]] == [
        (channel, provider)
    ]
    rt.start_dispatching()
    await wait_until(lambda: drained(rt))
    receipt = await api.get(f"/v1/receipts/{body['receipt_id']}", headers=await authorised(rt, "receipts:read"))
    [delivery] = receipt.json()["deliveries"]
    assert delivery["state"] == ("delivered" if channel == "print" else "sent")  # a printer says it printed
    if arrived is None:
        assert f"RD-S-{channel}".encode() in (tmp_path / "spool.escpos").read_bytes()
        assert sandbox.app.state.store.messages() == []
    else:
        messages = sandbox.app.state.store.messages()
        assert len(messages) == 1 and arrived(messages[0]), messages
