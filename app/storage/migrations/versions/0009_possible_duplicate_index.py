"""An index for counting possible duplicates per provider since a time (every health check asks).

Revision ID: 0009
Revises: 0008
"""

from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_delivery_attempts_possible_duplicate", "delivery_attempts", ["possible_duplicate", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_possible_duplicate", table_name="delivery_attempts")
