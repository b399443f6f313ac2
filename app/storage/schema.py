"""Bringing a database to the current schema with Alembic.

A database already at the newest revision needs nothing: one read of `alembic_version`, beside the
revisions named in the migration files (`head_on_disk`), says so, and Alembic (a tenth of a second
or two to import) is loaded only when there is something to migrate.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.support import package_data

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = package_data.package_folder(package_data.MIGRATIONS)
"""Alembic's environment and revisions, shipped as the package `app.storage.migrations`."""

_REVISION = re.compile(r'^(revision|down_revision)\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)

MIGRATION_LOCK = 0x52445343  # "RDSC": PostgreSQL's advisory lock key for the migrations


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> str | None:
    """Apply every pending migration; return the revision the database is now at."""
    head = head_on_disk()
    if head is not None and _recorded_revision(engine) == head:
        return head
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # processes starting together migrate one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return current_revision(engine)


@cache
def head_on_disk() -> str | None:
    """The one revision no migration file builds on, read from the files' `revision = "..."` lines;
    None when that is not one revision (Alembic then decides)."""
    revisions: set[str] = set()
    below: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else below).add(value)
    heads = revisions - below
    return heads.pop() if len(heads) == 1 else None


def _recorded_revision(engine: Engine) -> str | None:
    """The revision `alembic_version` names; None for a new database (no such table yet)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None
    return str(found) if found is not None else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
