"""The store's receipts across lanes, read from the hub over real loopback HTTP (a hub on SQLite, as the
demo runs it): today's list in the store's time zone, searches by sale id, last four and phone across two
lanes, one-line 422s, and `receiptdesk receipts list --hub` against that hub."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.cli import main
from app.commands import hub_list
from app.main import Runtime
from app.services.hub import HubService
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised
from tests.storage.hub_batches import batch, customer_records, sale_records

NOW = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)  # noon in Chicago: the store's day is 06:00 UTC to 06:00 UTC
PHONE = "+12175550100"


def _sale(seq: int, pk: int, *, occurred_at: str, card: str, customer: int | None) -> list[dict[str, Any]]:
    [sale, receipt] = sale_records(seq, 1, customer=customer, lane="2")
    sale["data"].update(id=pk, sale_id=f"S-{pk}", occurred_at=occurred_at, card_last4=card)
    sale["key"], receipt["key"] = str(pk), f"r-{pk}"
    receipt["data"].update(id=f"r-{pk}", sale_pk=pk)
    return [sale, receipt]


@pytest.fixture
async def hub_url(runtime: Runtime) -> AsyncIterator[str]:
    """A hub in Chicago, with two lanes' batches applied: one customer (one phone) at both lanes."""
    service = HubService(runtime.db, clock=lambda: NOW, zone=ZoneInfo("America/Chicago"))
    runtime.hub = service
    await service.apply(batch("store-1/1", 0, [*customer_records(1), *sale_records(3, 2)]))  # S-3, S-4: 09:30Z
    second = [
        *customer_records(1, customer=3, phone=PHONE),  # the lane numbers the same customer its own way
        *_sale(3, 10, occurred_at="2026-12-05T10:00:00+00:00", card="1881", customer=3),
        *_sale(5, 99, occurred_at="2026-12-05T05:00:00+00:00", card="5555", customer=None),  # 23:00 the day before
    ]
    await service.apply(batch("store-1/2", 0, second))
    server = await start_asgi_server(runtime.local_api(), name="api")
    yield server.url
    await server.stop()


def sales(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return [(r["sale_id"], r["lane_id"]) for r in answer.json()]


async def test_todays_receipts_and_searches_across_lanes(runtime: Runtime, hub_url: str) -> None:
    reader = await authorised(runtime, "receipts:read")
    async with httpx.AsyncClient(base_url=hub_url, headers=reader) as http:

        async def found(**params: str) -> list[tuple[str, str]]:
            return sales(await http.get("/v1/hub/receipts", params=params))

        today = [("S-10", "store-1/2"), ("S-4", "store-1/1"), ("S-3", "store-1/1")]  # newest first; not S-99
        assert await found() == today
        assert await found(since="2026-12-04", until="2026-12-06") == [*today, ("S-99", "store-1/2")]
        assert await found(q="S-4") == [("S-4", "store-1/1")]
        assert await found(q="S-99") == [("S-99", "store-1/2")]  # a search alone: any day
        assert await found(q="4242") == [("S-4", "store-1/1"), ("S-3", "store-1/1")]
        assert await found(q="1881") == [("S-10", "store-1/2")]
        assert await found(q="(217) 555-0100") == today  # one phone, two lanes
        assert await found(q=PHONE, lane="store-1/2") == [("S-10", "store-1/2")]
        assert await found(q="nobody@example.com") == []
        assert await found(limit="1") == [("S-10", "store-1/2")]
        [first] = (await http.get("/v1/hub/receipts", params={"q": "S-10"})).json()
        assert (first["total"], first["card_last4"], first["occurred_at"]) == (
            "12.34",
            "1881",
            "2026-12-05T10:00:00+00:00",
        )


async def test_bad_searches_are_a_one_line_422_and_the_token_needs_receipts_read(
    runtime: Runtime, hub_url: str
) -> None:
    reader = await authorised(runtime, "receipts:read")
    lane = await authorised(runtime, "hub:sync")
    async with httpx.AsyncClient(base_url=hub_url) as http:
        for params in (
            {"limit": "0"},
            {"limit": "ten"},
            {"since": "yesterday"},
            {"since": "2026-12-05", "until": "2026-12-04"},
            {"q": "x" * 65},
        ):
            answer = await http.get("/v1/hub/receipts", params=params, headers=reader)
            assert answer.status_code == 422, params
            assert "\n" not in answer.json()["error"]
        assert (await http.get("/v1/hub/receipts", headers=lane)).status_code == 403
        assert (await http.get("/v1/hub/receipts")).status_code == 401


def _lane_config(tmp_path: Path, url: str | None) -> str:
    path = tmp_path / "lane.toml"
    path.write_text(f'[hub]\nurl = "{url}"\nlane = "1"\n' if url else "", encoding="utf-8")
    return str(path)


async def test_receipts_list_hub_prints_the_stores_receipts_with_their_lanes(
    runtime: Runtime, hub_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = await runtime.tokens.create("lane-1", ["hub:sync", "receipts:read"], actor="tests")
    monkeypatch.setenv("RECEIPTDESK_HUB_TOKEN", issued.token)
    config = _lane_config(tmp_path, hub_url)

    async def cli(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["--config", config, "--data-dir", str(tmp_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await cli("receipts", "list", "--hub", "-q", "(217) 555-0100")
    lines = out.splitlines()
    assert code == 0 and "from lane" in lines[0] and len(lines) == 4
    assert [line.split()[3] for line in lines[1:]] == ["S-10", "S-4", "S-3"]
    assert [line.split()[-1] for line in lines[1:]] == ["store-1/2", "store-1/1", "store-1/1"]
    assert "$12.34" in lines[1]

    code, out, _ = await cli("receipts", "list", "--hub", "-q", "1881", "--json")
    assert code == 0 and [(r["sale_id"], r["lane_id"]) for r in json.loads(out)] == [("S-10", "store-1/2")]
    code, out, _ = await cli("receipts", "list", "--hub", "--since", "2026-12-06T00:00:00+00:00")
    assert (code, out) == (0, "No receipts of any lane match.\n")

    code, _, err = await cli("receipts", "list", "--hub", "--since", "2026-12-06", "--until", "2026-12-05")
    assert code != 0 and err.startswith("receiptdesk: The hub refused the search: until is not after since")

    monkeypatch.setenv("RECEIPTDESK_HUB_TOKEN", (await runtime.tokens.create("lane-2", ["hub:sync"], actor="t")).token)
    code, _, err = await cli("receipts", "list", "--hub")
    assert code != 0 and "refused this lane's token for reading receipts" in err and len(err.splitlines()) == 1


def test_receipts_list_hub_says_so_when_no_hub_is_set_or_it_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECEIPTDESK_HUB_TOKEN", "a-token")
    base = ["--data-dir", str(tmp_path), "receipts", "list", "--hub"]
    assert main(["--config", _lane_config(tmp_path, None), *base]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"receiptdesk: {hub_list.NO_HUB}") and len(err.splitlines()) == 1
    with socket.socket() as taken:  # a port nobody listens on once closed
        taken.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{taken.getsockname()[1]}"
    assert main(["--config", _lane_config(tmp_path, url), *base]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"receiptdesk: The hub at {url} did not answer") and len(err.splitlines()) == 1
