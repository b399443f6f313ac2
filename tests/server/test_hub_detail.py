"""One receipt across lanes (`GET /v1/hub/receipts/{id}`) on a real PostgreSQL hub over loopback HTTP: its
sale, deliveries with recipients masked and the requests made for it; 404 and 409 in one sentence; and
`receiptdesk receipts show --hub` printing it on a lane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.demo.wiring import sandbox_secrets
from app.main import build_runtime
from app.main.runtime import Runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.storage import schema
from app.storage.database import Database, UnitOfWork
from app.storage.models import HubRequestRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings
from tests.storage.hub_batches import batch, record, sale_records
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

AT = datetime(2026, 12, 5, 9, 31, tzinfo=UTC)


def delivery(seq: int, key: str, receipt_id: str, channel: str, recipient: str, state: str) -> dict[str, Any]:
    data = {
        "id": key,
        "receipt_id": receipt_id,
        "channel": channel,
        "provider": "sandbox",
        "recipient": recipient,
        "state": state,
        "attempts": 2,
        "created_at": f"2026-12-05T09:3{seq % 10}:00",
        "updated_at": "2026-12-05T09:40:00",
    }
    return record(seq, "deliveries", key, data)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture
async def hub(pg_url: str, tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[Runtime, str]]:
    """A hub on PostgreSQL with two lanes: S-3 (with two deliveries and a request) at lane 1, and at lane 2 a
    sale whose receipt id is also lane 1's S-2 receipt id (a restored backup, say)."""
    db = Database(pg_url)
    schema.upgrade(db.write_engine)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / "hub", secrets=sandbox_secrets(sandbox.url), db=db)
    rt.hub = HubService(rt.db)
    first = [
        *sale_records(1, 2),
        delivery(5, "d-1", "r-1", "email", "jane.doe@example.com", "delivered"),
        delivery(6, "d-2", "r-1", "sms", "+12175550100", "failed"),
        delivery(7, "d-3", "r-2", "sms", "+12175550199", "sent"),  # another receipt's: not r-1's
    ]
    await rt.hub.apply(batch("store-1/1", 0, first))
    await rt.hub.apply(batch("store-1/2", 0, sale_records(2, 1, lane="2")))  # r-2 again, at lane 2

    def requested(session: UnitOfWork) -> None:
        session.add(
            HubRequestRow(
                lane_id="store-1/1",
                kind="resend",
                receipt_id="r-1",
                channel="sms",
                contact="+12175550100",
                reason="Customer asked at lane 2",
                requested_by="Dana",
                requested_at=AT,
                state="failed",
                detail="The number never agreed to texts.",
                updated_at=AT,
            )
        )

    await rt.db.write(requested)
    server = await start_asgi_server(rt.local_api(), name="hub")
    yield rt, server.url
    await server.stop()
    await rt.close()


async def test_one_receipt_across_lanes_with_its_deliveries_masked_and_its_requests(
    hub: tuple[Runtime, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rt, url = hub
    reader = await authorised(rt, "receipts:read")
    async with httpx.AsyncClient(base_url=url, headers=reader) as http:
        answer = await http.get("/v1/hub/receipts/r-1")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["lane_id"], body["sale_id"], body["total"], body["card_last4"]) == (
            "store-1/1",
            "S-1",
            "12.34",
            "4242",
        )
        assert body["sale"]["sale_id"] == "S-1" and "payload" not in body["sale"]
        assert [(d["id"], d["channel"], d["recipient"], d["state"], d["attempts"]) for d in body["deliveries"]] == [
            ("d-1", "email", "j***@example.com", "delivered", 2),
            ("d-2", "sms", "(***) ***-0100", "failed", 2),
        ]
        [request] = body["requests"]
        assert (request["to"], request["state"], request["detail"]) == (
            "(***) ***-0100",
            "failed",
            "The number never agreed to texts.",
        )
        assert "+12175550100" not in answer.text and "jane.doe" not in answer.text

        same = await http.get("/v1/hub/receipts/r-1", params={"lane_id": "store-1/1"})
        assert same.json() == body
        both = await http.get("/v1/hub/receipts/r-2")
        assert both.status_code == 409 and "lane_id" in both.json()["error"]
        chosen = await http.get("/v1/hub/receipts/r-2", params={"lane_id": "store-1/2"})
        assert chosen.json()["lane_id"] == "store-1/2"
        missing = await http.get("/v1/hub/receipts/r-1", params={"lane_id": "store-1/2"})
        assert missing.status_code == 404 and "\n" not in missing.json()["error"]
        lane_only = await authorised(rt, "hub:sync")
        assert (await http.get("/v1/hub/receipts/r-1", headers=lane_only)).status_code == 403

    issued = await rt.tokens.create("lane-1", ["hub:sync", "receipts:read"], actor="tests")
    monkeypatch.setenv("RECEIPTDESK_HUB_TOKEN", issued.token)
    config = tmp_path / "lane.toml"
    config.write_text(f'[hub]\nurl = "{url}"\n', encoding="utf-8")
    base = ["--config", str(config), "--data-dir", str(tmp_path / "lane"), "receipts", "show", "--hub"]
    code = await asyncio.to_thread(main, [*base, "r-1"])
    out = capsys.readouterr().out
    assert code == 0, out
    local = datetime.fromisoformat(body["occurred_at"]).astimezone()
    assert out.splitlines()[:2] == [
        "Receipt r-1 of lane store-1/1",
        f"  sale S-1, {local:%Y-%m-%d %H:%M:%S}, $12.34, card ending 4242",
    ]
    assert "    sms to (***) ***-0100: failed, 2 attempt(s)" in out
    assert "  request 1: sms to (***) ***-0100, failed (The number never agreed to texts.)" in out
    code = await asyncio.to_thread(main, [*base, "r-2", "--lane", "store-1/2", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["lane_id"] == "store-1/2"
    code = await asyncio.to_thread(main, [*base, "r-2"])
    err = capsys.readouterr().err
    assert code != 0 and "both have receipt r-2" in err and len(err.splitlines()) == 1
