"""Order lifecycle updates, the last catch-up sync per platform, and receipts captured from a print stream.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_updates",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("update_key", sa.String(length=200), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), sa.ForeignKey("receipts.id"), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("store_id", "order_id", "update_key", name="uq_order_updates_key"),
    )
    op.create_index("ix_order_updates_order", "order_updates", ["store_id", "order_id"])
    op.create_index("ix_order_updates_receipt_id", "order_updates", ["receipt_id"])
    op.create_table(
        "platform_sync",
        sa.Column("platform", sa.String(length=40), primary_key=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("events_found", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "captures",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sale_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("receipt_id", sa.String(length=36), sa.ForeignKey("receipts.id"), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_captures_state", "captures", ["state"])


def downgrade() -> None:
    op.drop_index("ix_captures_state", table_name="captures")
    op.drop_table("captures")
    op.drop_table("platform_sync")
    op.drop_index("ix_order_updates_receipt_id", table_name="order_updates")
    op.drop_index("ix_order_updates_order", table_name="order_updates")
    op.drop_table("order_updates")
