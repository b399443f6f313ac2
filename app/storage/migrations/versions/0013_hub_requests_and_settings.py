"""The hub hands work and settings back to lanes: resend requests a manager makes on the hub for a
receipt another lane owns (`hub_requests`, and on the lane `sync_requests`, which makes carrying one
out happen once), store settings pulled from the hub (`sync_settings` on the lane), the token each
lane pushes with (`hub_lanes.token_name`), and every contact and loyalty id a lane's customer is
known by (`hub_customer_aliases`), so a search by phone finds a customer keyed by loyalty id.

A hybrid-logical-clock stamp ends with its lane's id (up to 80 characters), so the columns that keep
stamps grow from 40 characters (which held lane ids of 15 at most) to 112.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # -- the hub's side -------------------------------------------------------------------------
    op.create_table(
        "hub_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("lane_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("contact", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False, server_default="pending"),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hub_requests_lane_state", "hub_requests", ["lane_id", "state", "id"])
    op.create_table(
        "hub_customer_aliases",
        sa.Column("lane_id", sa.String(length=80), primary_key=True),
        sa.Column("alias", sa.String(length=330), primary_key=True),
        sa.Column("customer_key", sa.String(length=80), primary_key=True),
    )
    op.create_index("ix_hub_customer_aliases_key", "hub_customer_aliases", ["lane_id", "customer_key"])
    op.create_index("ix_hub_customer_aliases_alias", "hub_customer_aliases", ["alias"])
    with op.batch_alter_table("hub_lanes") as batch:
        batch.add_column(sa.Column("token_name", sa.String(length=64), nullable=True))
    for table in ("hub_profile_changes", "sync_clocks"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("hlc", type_=sa.String(length=112), existing_type=sa.String(length=40))
    # -- the lane's side ------------------------------------------------------------------------
    op.create_table(
        "sync_requests",
        sa.Column("request_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "sync_settings",
        sa.Column("store_id", sa.String(length=64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_settings")
    op.drop_table("sync_requests")
    for table in ("hub_profile_changes", "sync_clocks"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("hlc", type_=sa.String(length=40), existing_type=sa.String(length=112))
    with op.batch_alter_table("hub_lanes") as batch:
        batch.drop_column("token_name")
    op.drop_index("ix_hub_customer_aliases_alias", table_name="hub_customer_aliases")
    op.drop_index("ix_hub_customer_aliases_key", table_name="hub_customer_aliases")
    op.drop_table("hub_customer_aliases")
    op.drop_index("ix_hub_requests_lane_state", table_name="hub_requests")
    op.drop_table("hub_requests")
