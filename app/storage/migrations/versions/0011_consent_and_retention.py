"""Consent, retention and the customer's rights: the consent ledger's detail (purpose, the contact it
covers, the wording's version and language, lane and staff), opt-outs kept by the contact's digest,
texts the customers sent in, one-use sale codes for a receipt by texting in, email unsubscribe links,
legal holds, purge runs, and when a customer was forgotten.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=False, server_default="receipts"))
        batch.add_column(sa.Column("contact", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("text_version", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("lane", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("staff", sa.String(length=64), nullable=True))
    op.create_index("ix_consents_contact", "consents", ["contact"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "opt_outs",
        sa.Column("channel_group", sa.String(length=8), primary_key=True),
        sa.Column("contact_digest", sa.String(length=64), primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True, unique=True),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_inbound_messages_sender", "inbound_messages", ["sender"])
    op.create_index("ix_inbound_messages_received_at", "inbound_messages", ["received_at"])
    op.create_table(
        "text_in_codes",
        sa.Column("code", sa.String(length=16), primary_key=True),
        sa.Column("receipt_id", sa.String(length=36), sa.ForeignKey("receipts.id"), nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_text_in_codes_receipt_id", "text_in_codes", ["receipt_id"])
    op.create_table(
        "unsubscribe_links",
        sa.Column("token", sa.String(length=64), primary_key=True),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_unsubscribe_links_address", "unsubscribe_links", ["address"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("sale_pk", sa.Integer(), sa.ForeignKey("sales.id"), nullable=True),
        sa.Column("from_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("to_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
    )
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("purge_runs")
    op.drop_table("legal_holds")
    op.drop_index("ix_unsubscribe_links_address", table_name="unsubscribe_links")
    op.drop_table("unsubscribe_links")
    op.drop_index("ix_text_in_codes_receipt_id", table_name="text_in_codes")
    op.drop_table("text_in_codes")
    op.drop_index("ix_inbound_messages_received_at", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_sender", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_table("opt_outs")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("forgotten_at")
    op.drop_index("ix_consents_contact", table_name="consents")
    with op.batch_alter_table("consents") as batch:
        for column in ("staff", "lane", "language", "text_version", "contact", "purpose"):
            batch.drop_column(column)
