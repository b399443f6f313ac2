"""Two `receiptdesk serve --hub` processes on one PostgreSQL database taking a lane's batches in turn, as
behind a load balancer; one killed with SIGKILL in the middle of a batch and started again: the lane
resends from the hub's acknowledgement and the hub holds every record once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from app.services.tokens import TokenService
from app.storage import schema
from app.storage.database import Database
from app.storage.models import HubLaneRow, HubReceiptRow, HubRecordRow
from tests.storage.hub_batches import batch, record, sale_records
from tests.system import processes
from tests.system.crash_harness import fresh_database, pg_cluster

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

LANE = "store-1/4"
SALES = 1000  # 2,000 records: one big batch that the kill interrupts, then small ones


@pytest.fixture
def database() -> Iterator[str]:
    with pg_cluster() as server:
        yield fresh_database(server)


class Lane:
    """A lane's push as `docs/hub.md` has it: from the hub's acknowledgement, whichever hub answers."""

    def __init__(self, token: str) -> None:
        self.feed = sale_records(1, SALES)
        changed = {**self.feed[0]["data"], "card_last4": "0005"}  # the first sale changed again, last
        self.feed.append(record(2 * SALES + 1, "sales", "1", changed))
        self.acked = 0
        self.headers = {"Authorization": f"Bearer {token}"}

    def push(self, url: str, size: int) -> bool:
        """One batch to the hub at `url`; False when that hub did not answer."""
        records = [r for r in self.feed if r["seq"] > self.acked][:size]
        try:
            answer = httpx.post(f"{url}/v1/hub/batches", json=batch(LANE, self.acked, records), headers=self.headers)
        except httpx.TransportError:
            return False
        assert answer.status_code in (200, 409), answer.text
        self.acked = int(answer.json()["acked"])
        return True

    @property
    def done(self) -> bool:
        return self.acked == int(self.feed[-1]["seq"])


def start_hub(tmp_path: Path, config: Path, n: int) -> tuple[subprocess.Popen[str], str]:
    folder = tmp_path / f"hub{n}"  # each process its own log folder; the database is their only state
    return processes.start("--config", str(config), "--data-dir", str(folder), "serve", "--hub", marker="hub serving")


def count(db: Database, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.read_sync(lambda s: s.execute(query).scalar_one()))


def test_two_hub_processes_take_batches_in_turn_and_one_killed_mid_batch_loses_and_doubles_nothing(
    tmp_path: Path, database: str
) -> None:
    db = Database(database)
    schema.upgrade(db.write_engine)
    issued = asyncio.run(TokenService(db).create("lane-4", ["hub:sync"], actor="tests"))
    config = tmp_path / "hub.toml"
    config.write_text(f'[database]\nurl = "{database}"\n\n[api]\nport = 0\n', encoding="utf-8")
    hubs: list[subprocess.Popen[str]] = []
    starting = ThreadPoolExecutor(max_workers=2)
    try:
        started = [starting.submit(start_hub, tmp_path, config, n) for n in (1, 2)]
        (first, url_a), (second, url_b) = (future.result() for future in started)
        hubs += [first, second]
        lane = Lane(issued.token)
        for i in range(6):  # in turn, as a load balancer would send them
            assert lane.push((url_a, url_b)[i % 2], 50)

        # the rest in one batch to the first hub, killed in the middle of it: the test holds the first sale's
        # row, so the hub's transaction waits there, holding the lane and what it wrote so far
        dsn = database.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as watch:
            holder.execute(
                "SELECT 1 FROM hub_records WHERE lane_id = %s AND kind = 'sales' AND key = '1' FOR UPDATE", (LANE,)
            )
            pushed = threading.Thread(target=lane.push, args=(url_a, 10_000))
            pushed.start()
            processes.wait_for(
                "the hub never reached the held row",
                lambda: (
                    watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    ).fetchone()
                    != (0,)
                ),
                timeout=30,
            )
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            pushed.join(30)
            holder.rollback()
        assert not lane.done  # the lane never heard an answer

        restarting = starting.submit(start_hub, tmp_path, config, 1)  # again, on the same database
        while lane.acked < SALES:  # meanwhile the other hub takes the lane's batches from its acknowledgement
            assert lane.push(url_b, 400), "the second hub did not answer"
        restarted, url_a = restarting.result()
        hubs.append(restarted)
        i = 0
        while not lane.done:
            assert lane.push((url_b, url_a)[i % 2], 400), "a hub did not answer"
            i += 1
        assert count(db, HubRecordRow, lane_id=LANE, kind="sales") == SALES
        assert count(db, HubRecordRow, lane_id=LANE, kind="receipts") == SALES
        assert count(db, HubReceiptRow, lane_id=LANE) == SALES
        acked = db.read_sync(lambda s: s.get(HubLaneRow, LANE))
        assert acked is not None and acked.acked_seq == 2 * SALES + 1
        last4 = db.read_sync(lambda s: s.get(HubReceiptRow, (LANE, "r-1")))
        assert last4 is not None and last4.card_last4 == "0005"  # the sale's later change is the one kept
    finally:
        for proc in hubs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        starting.shutdown()
        db.close()
