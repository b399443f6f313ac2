"""Two hub processes taking the same retried webhook at once on PostgreSQL: the second sees the first's row
and answers as for a repeat (its job runs again once the unique key it lost is committed), never with an error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from app.domain.clock import utcnow
from app.storage import inbound_texts, schema
from app.storage.database import Database, UnitOfWork
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


@pytest.fixture
def two_processes() -> Iterator[tuple[Database, Database]]:
    with private_cluster() as url:
        first, second = Database(url), Database(url)
        schema.upgrade(first.write_engine)
        yield first, second
        first.close()
        second.close()


async def test_a_unique_key_lost_to_another_writer_runs_the_job_again_and_it_sees_the_row(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    checked, other_committed = threading.Event(), threading.Event()
    runs: list[bool] = []

    def take(session: UnitOfWork) -> str:
        seen = inbound_texts.seen(session, "twilio", "SM1")
        runs.append(seen)
        if not checked.is_set():
            checked.set()
            assert other_committed.wait(30)  # the other process takes the same text between check and insert
        if seen:
            return "repeat"
        inbound_texts.add(
            session,
            provider="twilio",
            message_sid="SM1",
            sender="+12175550142",
            body="STOP",
            keyword="stop",
            received_at=utcnow(),
            handled=True,
        )
        return "taken"

    slow = asyncio.ensure_future(first.write(take))
    await asyncio.get_running_loop().run_in_executor(None, checked.wait, 30)
    assert await second.write(take) == "taken"
    other_committed.set()
    assert await slow == "repeat"
    assert runs == [False, False, True]  # the slow job lost the key, ran again, and saw the other's row
