"""Kill `receiptdesk serve` with SIGKILL mid-drain, start it again: every delivery arrives, once.

The sandbox decides when "mid-drain" is: it lets ten sends through, then holds every send after
them unanswered, and the test kills the server only once the sandbox holds some of its requests.
No step depends on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import random
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.sandbox.pos import make_sale
from tests.system import processes

LET_THROUGH = 10


@pytest.mark.exhaustive  # the crash points (test_crash_points.py) kill at each point; this is the blunt version
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_drain_loses_nothing(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    servers = []
    try:
        hold = {"hold": True, "hold_after": LET_THROUGH}
        processes.HTTP.put(f"{sandbox_url}/_sandbox/faults", json=hold).raise_for_status()
        config = processes.settings_file(tmp_path / "receiptdesk.toml", sandbox_url)
        data = tmp_path / "data"
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        servers.append(server)
        auth = processes.api_headers(config=config, data_dir=data)
        rng = random.Random(11)
        receipt_ids = []
        for i in range(40):
            sale = make_sale(rng, sale_id=f"K{i:03d}", with_customer=False)
            sale["customer"] = {"email": f"c{i}@example.com", "phone": f"+1217555{i:04d}", "channels": ["email", "sms"]}
            response = processes.HTTP.post(f"{api}/v1/sales", json=sale, timeout=10, headers=auth)
            assert response.status_code == 202, response.text
            receipt_ids.append(response.json()["receipt_id"])
        deadline = time.monotonic() + 30
        while processes.HTTP.get(f"{sandbox_url}/_sandbox/messages?limit=1").json()["count"] < 10:
            assert time.monotonic() < deadline, "nothing was delivered before the kill"
            time.sleep(0.05)
        # The server is mid-drain for sure: the sandbox holds some of its sends unanswered.
        processes.wait_for(
            "no send reached the hold", lambda: processes.HTTP.get(f"{sandbox_url}/_sandbox/faults").json()["held"] > 0
        )
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        delivered_before = processes.HTTP.get(f"{sandbox_url}/_sandbox/messages?limit=1").json()["count"]
        assert delivered_before < 80, "the drain finished before the kill; slow the sandbox down"
        assert delivered_before == LET_THROUGH

        # Release: the sends held when the server died now reach the "provider", which is what
        # happens when a process dies after its request left but before the answer came back.
        processes.HTTP.delete(f"{sandbox_url}/_sandbox/faults").raise_for_status()
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            health = processes.HTTP.get(f"{api}/v1/health", headers=auth).json()
            if health["queue_depth"] == 0:
                break
            assert time.monotonic() < deadline, f"still pending after restart: {health}"
            time.sleep(0.2)

        messages = processes.HTTP.get(f"{sandbox_url}/_sandbox/messages?limit=1000").json()["messages"]
        emails = {m["idempotency_key"] for m in messages if m["provider"] == "sendgrid"}
        texts = {m["to"][0] for m in messages if m["provider"] == "twilio"}
        sent_times = Counter(m["idempotency_key"] for m in messages if m["provider"] == "sendgrid")
        sent_times.update(m["to"][0] for m in messages if m["provider"] == "twilio")
        keys, phones = set(), set()
        claims_after_crash = 0
        for i, receipt_id in enumerate(receipt_ids):
            receipt = processes.HTTP.get(f"{api}/v1/receipts/{receipt_id}", headers=auth).json()
            for delivery in receipt["deliveries"]:
                assert delivery["state"] == "sent", delivery
                if delivery["channel"] == "email":
                    keys.add(f"rd-{delivery['id']}")
                # Nothing is sent twice: SendGrid and Twilio are asked about a send the crash left in
                # doubt, so each customer has exactly one message and none is marked a duplicate.
                sent_as = f"rd-{delivery['id']}" if delivery["channel"] == "email" else f"+1217555{i:04d}"
                assert sent_times[sent_as] == 1, (delivery, sent_times[sent_as])
                assert not any(a["possible_duplicate"] for a in delivery["attempts"]), delivery
                assert all(a["outcome"] != "sending" for a in delivery["attempts"]), delivery
                settled = [a["settled_by"] for a in delivery["attempts"] if a["settled_by"]]
                assert set(settled) <= {"lookup_found", "lookup_not_found"}, delivery
                claims_after_crash += bool(settled)
        assert claims_after_crash > 0, "the kill caught no send in flight"
        for i in range(40):
            phones.add(f"+1217555{i:04d}")
        assert keys <= emails and len(keys) == 40
        assert phones <= texts
        assert processes.run("audit", "verify", config=config, data_dir=data).returncode == 0
    finally:
        with contextlib.suppress(httpx.HTTPError):
            processes.HTTP.delete(f"{sandbox_url}/_sandbox/faults")  # a held request never outlives the test
        for proc in (*servers, sandbox):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
