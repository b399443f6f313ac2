"""Where a database stands against the migrations this version ships, read without changing anything.

`receiptdesk doctor` asks this; `schema.upgrade` is what moves a database forward. A SQLite file
that does not exist yet is reported as such, not created.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from app.storage import schema

CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class Revisions:
    """The database's schema revision, the newest one shipped, and whether this version knows the database's."""

    exists: bool
    current: str | None
    head: str | None
    known: bool


def database_revisions(url: str) -> Revisions:
    """Connect to `url`, read its Alembic revision and disconnect. Raises what the driver raises."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    head = script.get_current_head()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path not in ("", ":memory:") and not path.startswith("file:") and not Path(path).exists():
            return Revisions(exists=False, current=None, head=head, known=True)
        engine = create_engine(url, poolclass=NullPool)
    else:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        current = schema.current_revision(engine)
    finally:
        engine.dispose()
    known = current is None or current in {r.revision for r in script.walk_revisions()}
    return Revisions(exists=True, current=current, head=head, known=known)
