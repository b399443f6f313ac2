"""Every channel reachable from a sale: the customers' app devices (push), when each number last wrote
on WhatsApp (its 24-hour window), the receipt's data for a provider's template, the shop's own order
name, and when a delivery's status was last asked of its provider.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("app", sa.String(length=64), nullable=True),
        sa.Column("token", sa.String(length=512), nullable=False, unique=True),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_app_devices_customer_id", "app_devices", ["customer_id"])
    op.create_table(
        "whatsapp_windows",
        sa.Column("phone", sa.String(length=20), primary_key=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("template_data", sa.Text(), nullable=True))
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("order_name", sa.String(length=64), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_deliveries_status_check", "deliveries", ["state", "status_checked_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_check", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("status_checked_at")
    with op.batch_alter_table("sales") as batch:
        batch.drop_column("order_name")
    with op.batch_alter_table("receipts") as batch:
        batch.drop_column("template_data")
    op.drop_table("whatsapp_windows")
    op.drop_index("ix_app_devices_customer_id", table_name="app_devices")
    op.drop_table("app_devices")
