"""Attempts written before the request leaves: open finish time, how an attempt in doubt was settled,
possible duplicates, and one attempt per number per delivery (the fencing token).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An older version could record one attempt number twice (a claim after an expired lease); the
    # later rows keep their place, their number negated, so that each number is unique from now on.
    op.execute(
        "UPDATE delivery_attempts SET number = -id WHERE id NOT IN "
        "(SELECT MIN(id) FROM delivery_attempts GROUP BY delivery_id, number)"
    )
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.alter_column("finished_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch.add_column(sa.Column("settled_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("settled_actor", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("possible_duplicate", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint("uq_delivery_attempts_number", ["delivery_id", "number"])


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_constraint("uq_delivery_attempts_number", type_="unique")
        batch.drop_column("possible_duplicate")
        batch.drop_column("settled_actor")
        batch.drop_column("settled_at")
        batch.drop_column("settled_by")
        batch.alter_column("finished_at", existing_type=sa.DateTime(timezone=True), nullable=False)
