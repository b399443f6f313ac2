"""Many lanes, one hub: each lane's change feed (written by triggers, so no code path can miss one),
its sync state and parked records; and the hub's side: the lanes it serves, every lane's records,
records it parked, and the profile changes (preferences, consents, opt-outs) it hands back to lanes.

The feed writes only while `sync_feed.enabled` is 1 (a lane with a hub): a terminal without one pays
one indexed read per write, nothing more.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FED = {
    "sales": "CAST(X.id AS TEXT)",
    "customers": "CAST(X.id AS TEXT)",
    "contacts": "CAST(X.id AS TEXT)",
    "channel_preferences": "CAST(X.customer_id AS TEXT) || '|' || X.channel",
    "consents": "CAST(X.id AS TEXT)",
    "opt_outs": "X.channel_group || '|' || X.contact_digest",
    "receipts": "X.id",
    "deliveries": "X.id",
    "delivery_attempts": "CAST(X.id AS TEXT)",
    "delivery_events": "CAST(X.id AS TEXT)",
    "order_updates": "X.id",
    "audit_log": "CAST(X.seq AS TEXT)",
}
"""The tables a lane's hub keeps, and each one's key as text (`X` is the row: NEW, or OLD for a delete)."""

_OPS = (("insert", "upsert", "NEW"), ("update", "upsert", "NEW"), ("delete", "delete", "OLD"))


def _sqlite_triggers() -> None:
    for table, key in FED.items():
        for event, kind, row in _OPS:
            op.execute(
                f"CREATE TRIGGER feed_{table}_{event} AFTER {event.upper()} ON {table} "
                f"WHEN (SELECT enabled FROM sync_feed WHERE id = 1) = 1 BEGIN "
                f"INSERT INTO change_feed (kind, key, op, at) VALUES "
                f"('{table}', {key.replace('X.', row + '.')}, '{kind}', strftime('%Y-%m-%d %H:%M:%f', 'now')); END"
            )


def _postgresql_triggers() -> None:
    for table, key in FED.items():
        new_key, old_key = key.replace("X.", "NEW."), key.replace("X.", "OLD.")
        op.execute(
            f"""CREATE FUNCTION feed_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT enabled FROM sync_feed WHERE id = 1) = 1 THEN
    IF TG_OP = 'DELETE' THEN
      INSERT INTO change_feed (kind, key, op, at) VALUES ('{table}', {old_key}, 'delete', now());
    ELSE
      INSERT INTO change_feed (kind, key, op, at) VALUES ('{table}', {new_key}, 'upsert', now());
    END IF;
  END IF;
  RETURN NULL;
END $$"""
        )
        op.execute(
            f"CREATE TRIGGER feed_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION feed_{table}()"
        )


def upgrade() -> None:
    # -- the lane's side ------------------------------------------------------------------------
    op.create_table(
        "sync_feed",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enabled", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO sync_feed (id, enabled) VALUES (1, 0)")
    op.create_table(
        "change_feed",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,  # a seq is never reused, even after the rows before it are pruned
    )
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("acked_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pulled_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("hub_skew_ms", sa.Integer(), nullable=True),
        sa.Column("settings_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "sync_parked",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sync_clocks",
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("hlc", sa.String(length=40), nullable=False),
    )
    # -- the hub's side -------------------------------------------------------------------------
    op.create_table(
        "hub_lanes",
        sa.Column("lane_id", sa.String(length=80), primary_key=True),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("acked_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("backlog", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("parked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skew_ms", sa.Integer(), nullable=True),
        sa.Column("settings_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "hub_records",
        sa.Column("lane_id", sa.String(length=80), primary_key=True),
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hub_receipts",
        sa.Column("lane_id", sa.String(length=80), primary_key=True),
        sa.Column("receipt_id", sa.String(length=36), primary_key=True),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("sale_id", sa.String(length=64), nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.String(length=24), nullable=False),
        sa.Column("card_last4", sa.String(length=40), nullable=True),
        sa.Column("customer_key", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
    )
    op.create_index("ix_hub_receipts_occurred_at", "hub_receipts", ["occurred_at"])
    op.create_index("ix_hub_receipts_sale_id", "hub_receipts", ["sale_id"])
    op.create_index("ix_hub_receipts_card_last4", "hub_receipts", ["card_last4"])
    op.create_index("ix_hub_receipts_customer_key", "hub_receipts", ["customer_key"])
    op.create_table(
        "hub_parked",
        sa.Column("lane_id", sa.String(length=80), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hub_profile_changes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("origin_lane", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("hlc", sa.String(length=40), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hub_profile_changes_key", "hub_profile_changes", ["kind", "key"])
    op.create_table(
        "hub_settings",
        sa.Column("store_id", sa.String(length=64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FED:
            op.execute(f"DROP TRIGGER IF EXISTS feed_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS feed_{table}()")
    else:
        for table in FED:
            for event, _kind, _row in _OPS:
                op.execute(f"DROP TRIGGER IF EXISTS feed_{table}_{event}")
    for table in (
        "hub_settings",
        "hub_profile_changes",
        "hub_parked",
        "hub_receipts",
        "hub_records",
        "hub_lanes",
        "sync_clocks",
        "sync_parked",
        "sync_state",
        "change_feed",
        "sync_feed",
    ):
        op.drop_table(table)
