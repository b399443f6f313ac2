"""Two kiosks on one PostgreSQL database count the wrong PINs of one manager together: none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from app.domain.pins import LockoutPolicy
from app.services.kiosk import AccessDenied, ManagerLock
from app.services.managers import ManagerService
from app.storage import audit, managers, schema
from app.storage.database import Database
from app.storage.models import LockoutRow
from tests.conftest import wait_until
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


@pytest.fixture
def two_kiosks() -> Iterator[tuple[Database, Database]]:
    with private_cluster() as url:
        first, second = Database(url), Database(url)
        assert schema.upgrade(first.write_engine) == schema.head_revision()
        try:
            yield first, second
        finally:
            first.close()
            second.close()


async def test_wrong_pins_from_two_kiosks_at_once_are_all_counted(two_kiosks: tuple[Database, Database]) -> None:
    first, second = two_kiosks
    await ManagerService(first).add("Ana Lee", "739154", actor="test")
    policy = LockoutPolicy(max_tries=7, first_s=60, max_s=3600)
    locks = [ManagerLock(db, policy) for db in (first, second, first, second, first, second)]
    said = await asyncio.gather(*(lock.unlock("Ana Lee", "000001") for lock in locks), return_exceptions=True)
    assert all(isinstance(outcome, AccessDenied) for outcome in said), said
    counted = await first.read(lambda s: managers.lockout(s, "manager:Ana Lee"))
    assert counted is not None and counted.failures == 6 and counted.locked_until is None
    with pytest.raises(AccessDenied, match="Locked for 1 minute"):
        await ManagerLock(second, policy).unlock("Ana Lee", "000001")
    with pytest.raises(AccessDenied, match="Locked for 1 minute"):
        await ManagerLock(first, policy).unlock("Ana Lee", "739154")
    assert (await first.read(audit.verify)).ok


async def test_a_count_begun_by_the_other_kiosk_meanwhile_is_carried_on(two_kiosks: tuple[Database, Database]) -> None:
    first, second = two_kiosks
    await ManagerService(first).add("Ana Lee", "739154", actor="test")
    policy = LockoutPolicy(max_tries=7, first_s=60, max_s=3600)
    other_kiosk = create_engine(first.url)
    try:
        with other_kiosk.connect() as other:
            begun = other.begin()  # the other kiosk has counted two wrong PINs and not committed yet
            row = {"subject": "manager:Ana Lee", "failures": 2, "locked_until": None, "updated_at": datetime.now(UTC)}
            other.execute(insert(LockoutRow).values(**row))
            attempt = asyncio.ensure_future(ManagerLock(first, policy).unlock("Ana Lee", "000001"))

            def waiting_on_a_lock() -> int:
                query = (
                    select(func.count()).select_from(text("pg_stat_activity")).where(text("wait_event_type = 'Lock'"))
                )
                return int(second.read_sync(lambda s: s.scalar(query)) or 0)

            await wait_until(lambda: asyncio.to_thread(waiting_on_a_lock), timeout=30)
            begun.commit()
        with pytest.raises(AccessDenied, match=r"^Wrong PIN\. 4 tries left\.$"):  # 2 + 1 of 7
            await attempt
    finally:
        other_kiosk.dispose()
    counted = await second.read(lambda s: managers.lockout(s, "manager:Ana Lee"))
    assert counted is not None and counted.failures == 3
