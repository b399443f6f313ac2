"""Managers and their PINs over a real SQLite file: slow hashes only, lockouts that outlive a restart and
grow, names that cannot be told apart by trying them, and every step in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config.settings import Settings
from app.domain import pins
from app.domain.audit import changed_keys, short_detail
from app.domain.errors import NotFound, ValidationFailed
from app.domain.pins import LockoutPolicy, check_name, check_pin, describe_wait, hash_pin, verify_pin
from app.services.kiosk import AccessDenied, ManagerLock
from app.services.kiosk import lock as lock_module
from app.services.managers import ManagerService
from app.storage import audit, schema
from app.storage.database import Database
from app.storage.models import LockoutRow, ManagerRow

PIN = "739154"
DEFAULTS = Settings().managers
POLICY = LockoutPolicy(DEFAULTS.max_tries, DEFAULTS.first_lockout_seconds, DEFAULTS.max_lockout_seconds)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "receiptdesk.db"
    database = Database(f"sqlite:///{path}")
    schema.upgrade(database.write_engine)
    database.close()
    return path


@pytest.fixture
def db(db_file: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{db_file}")
    yield database
    database.close()


async def wrong_tries(lock: ManagerLock, name: str, count: int) -> list[str]:
    said = []
    for _ in range(count):
        with pytest.raises(AccessDenied) as denied:
            await lock.unlock(name, "000001")
        said.append(denied.value.message)
    return said


async def actions(db: Database) -> list[tuple[str, str, str]]:
    entries = await db.read(lambda s: audit.recent(s, limit=1000))
    return [(e.actor, e.action, e.subject) for e in reversed(entries)]


async def test_only_a_salted_scrypt_hash_is_stored(db: Database) -> None:
    service = ManagerService(db)
    await service.add("Ana Lee", PIN, actor="os:root")
    await service.add("Ben", PIN, actor="os:root")
    hashes = await db.read(
        lambda s: {r.name: r.pin_hash for r in s.execute(select(ManagerRow.name, ManagerRow.pin_hash))}
    )
    assert all(h.startswith("scrypt$n=16384,r=8,p=1$") and PIN not in h for h in hashes.values())
    assert hashes["Ana Lee"] != hashes["Ben"]  # a salt of its own
    assert verify_pin(PIN, hashes["Ana Lee"]) and not verify_pin("739155", hashes["Ana Lee"])
    assert await ManagerLock(db).unlock("Ana Lee", PIN) == "Ana Lee"


async def test_a_lockout_outlives_a_restart_and_grows_each_time(db_file: Path) -> None:
    clock = Clock()

    def restart() -> tuple[Database, ManagerLock]:
        database = Database(f"sqlite:///{db_file}")
        return database, ManagerLock(database, POLICY, clock=clock)

    db, lock = restart()
    await ManagerService(db, clock=clock).add("Ana Lee", PIN, actor="test")
    assert await wrong_tries(lock, "Ana Lee", 5) == [
        "Wrong PIN. 4 tries left.",
        "Wrong PIN. 3 tries left.",
        "Wrong PIN. 2 tries left.",
        "Wrong PIN. 1 try left.",
        "Locked for 1 minute after too many wrong PINs.",
    ]
    db.close()
    db, lock = restart()  # a new process on the same database forgets nothing
    try:
        with pytest.raises(AccessDenied, match="Locked for 1 minute") as denied:
            await lock.unlock("Ana Lee", PIN)  # not even the right PIN
        assert denied.value.locked_until == clock.now + timedelta(seconds=60)
        clock.advance(30)
        assert await lock.locked_until("Ana Lee") == clock.now + timedelta(seconds=30)
        clock.advance(30)
        assert await lock.locked_until("Ana Lee") is None
        assert (await wrong_tries(lock, "Ana Lee", 5))[-1] == "Locked for 2 minutes after too many wrong PINs."
    finally:
        db.close()
    db, lock = restart()
    try:
        clock.advance(120)
        assert (await wrong_tries(lock, "Ana Lee", 5))[-1] == "Locked for 4 minutes after too many wrong PINs."
        clock.advance(240)
        assert await lock.unlock("Ana Lee", PIN) == "Ana Lee"  # the right PIN wipes the count
        assert await db.read(lambda s: s.get(LockoutRow, "manager:Ana Lee")) is None
        assert (await wrong_tries(lock, "Ana Lee", 5))[-1] == "Locked for 1 minute after too many wrong PINs."
        trail = [a for _, a, _ in await actions(db)]
        assert trail.count("manager.locked") == 4 and trail.count("manager.pin_failed") == 20
        assert trail.count("manager.unlocked") == 1
        assert (await db.read(audit.verify)).ok
    finally:
        db.close()


async def test_lockouts_double_up_to_the_ceiling() -> None:
    policy = LockoutPolicy(max_tries=2, first_s=60, max_s=200)
    assert [policy.lock_seconds(n) for n in range(1, 9)] == [None, 60, None, 120, None, 200, None, 200]
    assert [policy.tries_left(n) for n in range(4)] == [2, 1, 2, 1]
    assert LockoutPolicy(max_tries=1, first_s=60, max_s=86400).lock_seconds(500) == 86400


async def test_an_unknown_name_costs_a_hash_and_is_counted_like_a_known_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    await ManagerService(db, clock=clock).add("Ana Lee", PIN, actor="test")
    checked: list[str] = []

    def counting(pin: str, stored: str) -> bool:
        checked.append(stored.rsplit("$", 2)[0])
        return verify_pin(pin, stored)

    monkeypatch.setattr(lock_module, "verify_pin", counting)
    lock = ManagerLock(db, POLICY, clock=clock)
    known, unknown = await wrong_tries(lock, "Ana Lee", 5), await wrong_tries(lock, "Nobody", 5)
    assert known == unknown  # the same words, the same lockout
    assert checked == [checked[0]] * 10 and checked[0] == "scrypt$n=16384,r=8,p=1"  # the same cost each time
    assert await lock.locked_until("Nobody") == clock.now + timedelta(seconds=60)
    subjects = {subject for _, action, subject in await actions(db) if action == "manager.pin_failed"}
    assert subjects == {"manager:Ana Lee", "manager:unknown"}  # a name typed is never written to the log


async def test_adding_removing_and_resetting_are_checked_and_audited(db: Database) -> None:
    clock = Clock()
    service, lock = ManagerService(db, clock=clock), ManagerLock(db, POLICY, clock=clock)
    await service.add("  Ana   Lee ", PIN, actor="os:alice")
    with pytest.raises(ValidationFailed, match="already a manager called Ana Lee"):
        await service.add("Ana Lee", "482913", actor="os:alice")
    with pytest.raises(ValidationFailed, match="too easy"):
        await service.add("Ben", "1234", actor="os:alice")
    with pytest.raises(ValidationFailed, match="4 to 12 digits"):
        await service.add("Ben", "12a4", actor="os:alice")
    await wrong_tries(lock, "Ana Lee", 5)
    await service.reset_pin("Ana Lee", "482913", actor="os:alice")  # lifts the lockout too
    assert await lock.unlock("Ana Lee", "482913") == "Ana Lee"
    assert [s.manager.name for s in await service.current()] == ["Ana Lee"]
    await service.remove("Ana Lee", actor="os:alice")
    with pytest.raises(AccessDenied, match="Wrong PIN"):
        await lock.unlock("Ana Lee", "482913")
    with pytest.raises(NotFound, match="no manager called Ana Lee"):
        await service.remove("Ana Lee", actor="os:alice")
    with pytest.raises(NotFound):
        await service.reset_pin("Ana Lee", "482913", actor="os:alice")
    await service.add("Ana Lee", "564738", actor="os:alice")  # back, with a new PIN
    assert await lock.unlock("Ana Lee", "564738") == "Ana Lee"
    trail = [(actor, action) for actor, action, subject in await actions(db) if subject == "manager:Ana Lee"]
    assert [t for t in trail if t[1] != "manager.pin_failed"] == [
        ("os:alice", "manager.added"),
        ("kiosk", "manager.locked"),
        ("os:alice", "manager.pin_reset"),
        ("Ana Lee", "manager.unlocked"),
        ("os:alice", "manager.removed"),
        ("os:alice", "manager.added"),
        ("Ana Lee", "manager.unlocked"),
    ]
    assert (await db.read(audit.verify)).ok


async def test_the_old_single_pin_becomes_the_manager_called_manager_once(db: Database) -> None:
    service = ManagerService(db)
    assert await service.adopt_legacy_pin("2468", actor="kiosk-setup")
    assert await ManagerLock(db).unlock("manager", "2468") == "manager"
    assert not await service.adopt_legacy_pin("1357", actor="kiosk-setup")  # managers exist now
    await service.remove("manager", actor="os:alice")
    assert not await service.adopt_legacy_pin("2468", actor="kiosk-setup")  # removed ones count
    assert await service.current() == []


def test_pins_names_and_waits_read_plainly() -> None:
    for weak in ("0000", "1234", "9876", "1212", "7890", "123456"):
        with pytest.raises(ValidationFailed, match="too easy"):
            check_pin(weak)
    assert check_pin("2468") == "2468" and check_pin("739154") == "739154"
    for bad in ("", "os:alice", "x" * 41, "Dispatcher"):
        with pytest.raises(ValidationFailed):
            check_name(bad)
    assert check_name(" O'Brien  Jr. ") == "O'Brien Jr."
    waits = [describe_wait(s) for s in (0.2, 45, 59.5, 61, 3600, 7200, 86400, 3 * 86400)]
    assert waits == ["1 second", "45 seconds", "1 minute", "2 minutes", "60 minutes", "2 hours", "24 hours", "3 days"]
    old = hash_pin(PIN, n=2**10)
    assert verify_pin(PIN, old) and pins.needs_rehash(old) and not pins.needs_rehash(hash_pin(PIN))
    assert not verify_pin(PIN, "plain text") and not verify_pin(PIN, pins.UNKNOWN_HASH)


def test_settings_changes_name_keys_never_values() -> None:
    before = {"store": {"name": "A", "phone": "1"}, "routing": {"email": "sendgrid"}}
    after = {"store": {"name": "B", "phone": "1"}, "routing": {"email": "sendgrid"}, "providers": {"x": {"k": "v"}}}
    assert changed_keys(before, after) == ["providers.x.k", "store.name"]
    assert short_detail({"b": [1, 2], "a": "x y"}) == "a=x y b=[1, 2]"
    assert len(short_detail({"a": "z" * 200}, width=20)) == 20
