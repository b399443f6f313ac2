"""The purge on PostgreSQL: the same old data, the same holds, the same result and digest as on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.storage import schema
from app.storage.database import Database
from tests.services import test_retention
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


@pytest.fixture
def store(sale_payload: Callable[..., dict[str, Any]]) -> Iterator[test_retention.Store]:
    with private_cluster() as url:
        database = Database(url)
        schema.upgrade(database.write_engine)
        yield test_retention.Store(database, sale_payload)
        database.close()


test_the_purge_on_postgresql = (
    test_retention.test_a_purge_removes_what_is_due_keeps_the_young_and_the_held_and_the_chain_verifies
)
