"""Searching stored receipts stays quick at a million receipts.

- `sales.sale_id` gets an index of its own (the unique one starts with `store_id`), and so does
  `sales.card_last4`, with a partial index over the sales paid with more than one card (their
  `card_last4` lists several, comma-separated), so a search by last four reads only those two.
- A search by contact matches any part of a delivery's recipient. On SQLite the distinct recipients
  are kept in `recipient_search` (one row each, kept by triggers on `deliveries`: a recipient no
  delivery has any more, after a purge or an erasure's masking, leaves it) with an FTS5 trigram index
  over them (`recipient_search_fts`), which answers `LIKE '%...%'` without reading every delivery.
  On PostgreSQL a trigram GIN index over `deliveries.recipient` does the same where the `pg_trgm`
  extension can be created; where it cannot, the search reads every recipient as before.
These are indexes, not data: `app.storage.models.outside_models` names them for the schema check.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SPLIT_TENDERS = "card_last4 LIKE '%,%'"


def upgrade() -> None:
    op.create_index("ix_sales_sale_id", "sales", ["sale_id"])
    op.create_index("ix_sales_card_last4", "sales", ["card_last4"])
    op.create_index(
        "ix_sales_split_cards",
        "sales",
        ["card_last4"],
        sqlite_where=sa.text(SPLIT_TENDERS),
        postgresql_where=sa.text(SPLIT_TENDERS),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_trigrams()
    else:
        _sqlite_recipients()


def _sqlite_recipients() -> None:
    op.execute("CREATE TABLE recipient_search (id INTEGER PRIMARY KEY, recipient VARCHAR(254) NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE recipient_search_fts USING fts5("
        "recipient, content='recipient_search', content_rowid='id', tokenize='trigram')"
    )
    op.execute("INSERT INTO recipient_search (recipient) SELECT DISTINCT recipient FROM deliveries")
    op.execute("INSERT INTO recipient_search_fts (recipient_search_fts) VALUES ('rebuild')")
    op.execute(
        "CREATE TRIGGER recipient_search_insert AFTER INSERT ON recipient_search BEGIN "
        "INSERT INTO recipient_search_fts (rowid, recipient) VALUES (NEW.id, NEW.recipient); END"
    )
    op.execute(
        "CREATE TRIGGER recipient_search_delete AFTER DELETE ON recipient_search BEGIN "
        "INSERT INTO recipient_search_fts (recipient_search_fts, rowid, recipient) "
        "VALUES ('delete', OLD.id, OLD.recipient); END"
    )
    gone = (
        "DELETE FROM recipient_search WHERE recipient = OLD.recipient "
        "AND NOT EXISTS (SELECT 1 FROM deliveries WHERE recipient = OLD.recipient);"
    )
    op.execute(
        "CREATE TRIGGER deliveries_recipient_insert AFTER INSERT ON deliveries BEGIN "
        "INSERT OR IGNORE INTO recipient_search (recipient) VALUES (NEW.recipient); END"
    )
    op.execute(
        "CREATE TRIGGER deliveries_recipient_update AFTER UPDATE OF recipient ON deliveries "
        "WHEN OLD.recipient IS NOT NEW.recipient BEGIN "
        "INSERT OR IGNORE INTO recipient_search (recipient) VALUES (NEW.recipient); " + gone + " END"
    )
    op.execute("CREATE TRIGGER deliveries_recipient_delete AFTER DELETE ON deliveries BEGIN " + gone + " END")


def _postgresql_trigrams() -> None:
    bind = op.get_bind()
    has_trgm = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not has_trgm:
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:  # not allowed to: the search reads every recipient, as before
        savepoint.rollback()
        return
    savepoint.commit()
    op.execute("CREATE INDEX ix_deliveries_recipient_trgm ON deliveries USING gin (recipient gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_deliveries_recipient_trgm")
    else:
        for trigger in (
            "deliveries_recipient_delete",
            "deliveries_recipient_update",
            "deliveries_recipient_insert",
            "recipient_search_delete",
            "recipient_search_insert",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS recipient_search_fts")
        op.execute("DROP TABLE IF EXISTS recipient_search")
    op.drop_index("ix_sales_split_cards", table_name="sales")
    op.drop_index("ix_sales_card_last4", table_name="sales")
    op.drop_index("ix_sales_sale_id", table_name="sales")
