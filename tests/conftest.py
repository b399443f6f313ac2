"""Shared fixtures: real SQLite files, the real sandbox over loopback, sale payloads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import atexit
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.delivery import ACTIVE
from app.main import Runtime, build_runtime
from app.sandbox.pos import STORE_TZ, make_sale
from app.sandbox.server import RunningSandbox, start_sandbox
from app.storage import schema
from app.storage.database import Database

SLOW_FOLDERS = ("system", "packaging")
"""Test folders whose modules start real processes: they run first, so that two workers finish together."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that start processes first (each module stays whole, in its own order).

    The workers take whole modules (`--dist loadfile`), the first ones in collection order: with the
    slow modules first, the quick ones fill in at the end instead of one worker finishing alone.
    """

    def slow(item: pytest.Item) -> bool:
        parts = item.path.parts
        return "tests" in parts and parts[parts.index("tests") + 1] in SLOW_FOLDERS

    items.sort(key=lambda item: not slow(item))


_MIGRATED: list[Path] = []
"""The SQLite database this process migrated once, empty at the current schema (see `new_database`)."""


def new_database(folder: Path) -> Path:
    """`folder/receiptdesk.db`, a new SQLite database at the current schema (unless the folder has one),
    where `build_runtime` and the commands look for it: a copy of one this process migrated once
    (Alembic takes a tenth of a second or more of CPU for each new database, a copy a millisecond).
    Opening it finds it at the newest revision. The migrations themselves run in every test that
    starts from an empty folder (every system test)."""
    if not _MIGRATED or not _MIGRATED[0].exists():
        root = Path(tempfile.mkdtemp(prefix="receiptdesk-schema-"))
        atexit.register(shutil.rmtree, root, True)
        template = Database(f"sqlite:///{root / 'receiptdesk.db'}")
        schema.upgrade(template.write_engine)
        template.close()
        assert not (root / "receiptdesk.db-wal").exists(), "the migrated database is not all in its file"
        _MIGRATED[:] = [root / "receiptdesk.db"]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "receiptdesk.db"
    if not target.exists():  # a database the test put there (an older version's, say) stays as it is
        shutil.copyfile(_MIGRATED[0], target)
    return target


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{new_database(tmp_path)}")
    schema.upgrade(database.write_engine)  # at the newest revision already: one read says so
    yield database
    database.close()


@pytest.fixture
def sale_payload() -> Callable[..., dict[str, Any]]:
    """`sale_payload(sale_id, **overrides)`: a consistent sale; `seed` picks a different basket."""

    def make(sale_id: str = "S-1001", *, seed: int = 1, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("when", datetime(2026, 11, 28, 10, 15, tzinfo=STORE_TZ))
        return make_sale(random.Random(seed), sale_id=sale_id, **kwargs)

    return make


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox()
    yield running
    await running.stop()


def fast_settings(sandbox_url: str, **dispatch: Any) -> Settings:
    base = sandbox_settings(Settings(), sandbox_url)
    options = {"base_delay_seconds": 0.05, "max_delay_seconds": 0.2, **dispatch}
    return base.model_copy(update={"dispatch": base.dispatch.model_copy(update=options)})


@pytest.fixture
async def runtime(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    new_database(tmp_path)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    yield rt
    await rt.close()


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll an async or plain predicate until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def drained(rt: Runtime) -> bool:
    status = await rt.receipts.queue_status()
    return not any(n for s, n in status.by_state.items() if s in {a.value for a in ACTIVE})


EMAIL_ONLY = {"email": "ana.garcia@example.com", "channels": [Channel.EMAIL.value], "name": "Ana Garcia"}
LEASE = timedelta(seconds=60)


@pytest.fixture
async def api_token(runtime: Runtime) -> str:
    """An `admin` API token in the runtime's database, for tests that call `/v1`."""
    return (await runtime.tokens.create("tests", ["admin"], actor="tests")).token


def bearer(token: str) -> dict[str, str]:
    """The header that carries an API token."""
    return {"Authorization": f"Bearer {token}"}


async def authorised(rt: Runtime, *scopes: str) -> dict[str, str]:
    """The header of a new API token (`admin` unless `scopes` are given) in `rt`'s database."""
    issued = await rt.tokens.create(f"tests-{len(await rt.tokens.list()) + 1}", scopes or ["admin"], actor="tests")
    return bearer(issued.token)
