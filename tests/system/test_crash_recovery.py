"""Kill `receiptdesk serve` with SIGKILL mid-drain, start it again: every delivery still arrives."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from app.sandbox.pos import make_sale
from tests.system import processes


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_drain_loses_nothing(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    servers = []
    try:
        httpx.put(f"{sandbox_url}/_sandbox/faults", json={"latency_ms": 150}).raise_for_status()
        config = processes.settings_file(tmp_path / "receiptdesk.toml", sandbox_url)
        data = tmp_path / "data"
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        servers.append(server)
        rng = random.Random(11)
        receipt_ids = []
        for i in range(40):
            sale = make_sale(rng, sale_id=f"K{i:03d}", with_customer=False)
            sale["customer"] = {"email": f"c{i}@example.com", "phone": f"+1217555{i:04d}", "channels": ["email", "sms"]}
            response = httpx.post(f"{api}/v1/sales", json=sale, timeout=10)
            assert response.status_code == 202, response.text
            receipt_ids.append(response.json()["receipt_id"])
        deadline = time.monotonic() + 30
        while httpx.get(f"{sandbox_url}/_sandbox/messages?limit=1").json()["count"] < 10:
            assert time.monotonic() < deadline, "nothing was delivered before the kill"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        delivered_before = httpx.get(f"{sandbox_url}/_sandbox/messages?limit=1").json()["count"]
        assert delivered_before < 80, "the drain finished before the kill; slow the sandbox down"

        httpx.delete(f"{sandbox_url}/_sandbox/faults").raise_for_status()
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            health = httpx.get(f"{api}/v1/health").json()
            if health["queue_depth"] == 0:
                break
            assert time.monotonic() < deadline, f"still pending after restart: {health}"
            time.sleep(0.2)

        messages = httpx.get(f"{sandbox_url}/_sandbox/messages?limit=1000").json()["messages"]
        emails = {m["idempotency_key"] for m in messages if m["provider"] == "sendgrid"}
        texts = {m["to"][0] for m in messages if m["provider"] == "twilio"}
        keys, phones = set(), set()
        for receipt_id in receipt_ids:
            receipt = httpx.get(f"{api}/v1/receipts/{receipt_id}").json()
            for delivery in receipt["deliveries"]:
                assert delivery["state"] == "sent", delivery
                if delivery["channel"] == "email":
                    keys.add(f"rd-{delivery['id']}")
        for i in range(40):
            phones.add(f"+1217555{i:04d}")
        assert keys <= emails and len(keys) == 40
        assert phones <= texts
        assert processes.run("audit", "verify", config=config, data_dir=data).returncode == 0
    finally:
        for proc in (*servers, sandbox):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
