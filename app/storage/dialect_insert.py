"""An INSERT that can say ON CONFLICT, in the session's own dialect.

The dialect's module is imported when first used: a SQLite kiosk never loads PostgreSQL's (about a
tenth of a second of its start).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def dialect_insert(session: Session, table: Table) -> Any:
    """`INSERT INTO table` as PostgreSQL's or SQLite's dialect builds it (both offer `on_conflict_do_*`)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
