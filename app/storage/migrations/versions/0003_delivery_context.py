"""Deliveries that are not a receipt (follow-ups, daily summaries) carry their own context.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("receipt_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("context", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("context")
        batch.alter_column("receipt_id", existing_type=sa.String(length=36), nullable=False)
