"""The schema. Alembic migrations in `migrations/` own it; these classes mirror it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.storage.types import Cents, UTCDateTime


class Base(DeclarativeBase):
    pass


SEARCH_INDEXES = ("recipient_search", "ix_deliveries_recipient_trgm")
"""What migration 0014 builds to search recipients by any part (an FTS5 table and its shadow tables on
SQLite, a trigram index on PostgreSQL): indexes in the dialect's own terms, which no class here mirrors."""


def outside_models(name: str | None, type_: str, parent_names: object) -> bool:
    """False for the search indexes above: Alembic's `include_name`, for comparing the schema with the models."""
    return not (name or "").startswith(SEARCH_INDEXES)


class SaleRow(Base):
    """A sale as the POS reported it (canonical JSON, card-free by construction)."""

    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("store_id", "sale_id", name="uq_sales_store_sale"),
        Index("ix_sales_sale_id", "sale_id"),  # a search by sale id (the unique index starts with the store)
        Index("ix_sales_card_last4", "card_last4"),  # a search by last four
        Index(  # ... and the sales paid with several cards, whose last fours are listed
            "ix_sales_split_cards",
            "card_last4",
            # Partial on both databases (migration 0014); named here for SQLite only, as a `postgresql_where`
            # would load PostgreSQL's dialect into every process that imports the models.
            sqlite_where=sql_text("card_last4 LIKE '%,%'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    sale_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    order_name: Mapped[str | None] = mapped_column(String(64))  # the shop's own name of the order (`#1001`)
    lane: Mapped[str] = mapped_column(String(64))
    cashier: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Cents())
    card_last4: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    loyalty_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # erased at the customer's request


class ContactRow(Base):
    """A normalised email address (`email`) or E.164 phone number (`phone`)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contacts_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChannelPreferenceRow(Base):
    """A channel the customer wants receipts on, and whether to send without asking."""

    __tablename__ = "channel_preferences"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    auto_send: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsentRow(Base):
    """The consent ledger: every grant and revocation, append-only.

    A grant keeps the exact text shown (`text_shown`, its `text_version` and `language`); `source`
    says where or how it came (the customer screen, staff, a STOP reply, an email link), `lane` and
    `staff` where and by whom. `purpose` is what it covers (`receipts`, `order_updates`); `contact`
    the address or number it covers (None in rows older than the ledger).
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    text_shown: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    purpose: Mapped[str] = mapped_column(String(16), default="receipts", server_default="receipts")
    contact: Mapped[str | None] = mapped_column(String(254), index=True)
    text_version: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    lane: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[str | None] = mapped_column(String(64))


class OptOutRow(Base):
    """A contact that stopped a channel group (`text`, `email`): kept by the SHA-256 of the normalised
    contact, so the opt-out outlives a customer's erasure without keeping the contact itself."""

    __tablename__ = "opt_outs"

    channel_group: Mapped[str] = mapped_column(String(8), primary_key=True)
    contact_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    via: Mapped[str] = mapped_column(String(32))


class InboundMessageRow(Base):
    """A text a customer sent the store; `keyword` is what it was taken as (stop, start, help, code) or None
    (kept for the manager until `handled_at`)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    sender: Mapped[str] = mapped_column(String(254), index=True)
    body: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(64))


class TextInCodeRow(Base):
    """A short code shown on the customer screen: texted to the store, it sends this receipt there (once)."""

    __tablename__ = "text_in_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("receipts.id"), index=True)
    lane: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))  # the customer screen's, when the code was shown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UnsubscribeLinkRow(Base):
    """The token in a receipt email's List-Unsubscribe link and mailto address, naming the address it stops."""

    __tablename__ = "unsubscribe_links"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LegalHoldRow(Base):
    """A hold that stops the purge (and erasure) of what it covers: a customer, a sale, or a date range."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    sale_pk: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    from_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    to_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(64))


class PurgeRunRow(Base):
    """One run of the retention purge; `counts` is JSON (records removed per kind), empty while it runs."""

    __tablename__ = "purge_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[str | None] = mapped_column(Text)


class AppDeviceRow(Base):
    """A customer's phone with the store's app, registered by the app for push receipts."""

    __tablename__ = "app_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))  # android, ios, web
    app: Mapped[str | None] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(512), unique=True)  # the push service's registration token
    registered_by: Mapped[str] = mapped_column(String(64))  # the API client that registered it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WhatsAppWindowRow(Base):
    """When a number last wrote to the store on WhatsApp: free-form replies are allowed for 24 hours after."""

    __tablename__ = "whatsapp_windows"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReceiptRow(Base):
    """A rendered receipt: immutable once written. A correction is a new row pointing back."""

    __tablename__ = "receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sale_pk: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("receipts.id"))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    sms_body: Mapped[str] = mapped_column(Text)
    sms_encoding: Mapped[str] = mapped_column(String(8))
    sms_segments: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(32))
    template_data: Mapped[str | None] = mapped_column(Text)  # JSON: the receipt's data for a provider's template
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeliveryRow(Base):
    """One receipt on one channel to one contact: the outbox row."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_recipient_created", "recipient", "created_at"),  # texts per number (text limits)
        Index("ix_deliveries_created", "created_at"),  # texts to new numbers per hour (the alarm)
        Index("ix_deliveries_status_check", "state", "status_checked_at"),  # deliveries whose status to ask
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(200))
    context: Mapped[str | None] = mapped_column(Text)  # JSON: metadata, and the content of non-receipt messages
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its provider last asked


class AttemptRow(Base):
    """One try at sending a delivery, with what the provider said.

    The row is written with outcome `sending` before the request leaves (its `number` is the fencing
    token); a crash leaves it `sending`, and the next claim turns it `in_doubt` until it is settled
    (`settled_by`: the provider's lookup found it or not, resent as a possible duplicate, held, dropped).
    """

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "number", name="uq_delivery_attempts_number"),
        Index("ix_delivery_attempts_possible_duplicate", "possible_duplicate", "started_at"),  # health's count
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    raw_status: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    settled_by: Mapped[str | None] = mapped_column(String(32))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_actor: Mapped[str | None] = mapped_column(String(64))
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class InboundEventRow(Base):
    """An event id already processed, per source: the same event twice gives one receipt."""

    __tablename__ = "inbound_events"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("receipts.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """Append-only, hash-chained: `hash` covers this entry and `prev_hash`."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"), Index("ix_audit_log_at", "at"))

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The single row naming the newest audit entry; locking it serialises writers across processes."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class DeliveryEventRow(Base):
    """What a provider reported about a delivery after sending it, raw payload kept for support."""

    __tablename__ = "delivery_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_delivery_events_provider_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    raw_status: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class OrderUpdateRow(Base):
    """A status change of an order after its receipt (shipped, cancelled, refunded), once per `update_key`.

    `receipt_id` is empty while the order's sale has not arrived yet (an update out of order); the
    update is sent when the receipt exists.
    """

    __tablename__ = "order_updates"
    __table_args__ = (
        UniqueConstraint("store_id", "order_id", "update_key", name="uq_order_updates_key"),
        Index("ix_order_updates_order", "store_id", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64))
    update_key: Mapped[str] = mapped_column(String(200))
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(Text)  # JSON: the OrderUpdate's lines, tracking, refund
    subject: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformSyncRow(Base):
    """The catch-up poll of one commerce platform: when it last succeeded, and where it got to."""

    __tablename__ = "platform_sync"

    platform: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cursor: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    events_found: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CaptureRow(Base):
    """A receipt read from a legacy POS's print stream, card data already scrubbed.

    `state` is `sent` once it became a receipt, `held` when it still looked like it held card data
    (a manager decides), `unparsed` when the layout patterns did not find a sale in it.
    """

    __tablename__ = "captures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    sale_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(300))
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("receipts.id"))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiTokenRow(Base):
    """An API client: its token is kept only as a SHA-256 digest, and `scopes` are space-separated."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ManagerRow(Base):
    """A person who may unlock the kiosk's manager screens; the PIN is kept only as a slow hash (scrypt)."""

    __tablename__ = "managers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LockoutRow(Base):
    """Wrong tries in a row against one subject (a manager's PIN), and until when it is locked."""

    __tablename__ = "lockouts"

    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- many lanes, one hub (migration 0012) ------------------------------------------------------------


class SyncFeedRow(Base):
    """One row: whether this database's triggers write the change feed (1 on a lane that has a hub)."""

    __tablename__ = "sync_feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ChangeFeedRow(Base):
    """A record of this lane that changed (`op`: upsert or delete), in order: the hub's copy follows it.

    Written by triggers on the fed tables (`migrations/versions/0012_lanes_and_hub.FED`), in the same
    transaction as the change; `seq` is never reused.
    """

    __tablename__ = "change_feed"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    op: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncStateRow(Base):
    """How far this lane's push (`acked_seq`, the hub's acknowledgement) and pull (`pulled_seq`) got."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pulled_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    hub_skew_ms: Mapped[int | None] = mapped_column(Integer)
    settings_version: Mapped[int | None] = mapped_column(Integer)


class SyncParkedRow(Base):
    """A record the hub refused: kept aside (and shown), never blocking the ones behind it."""

    __tablename__ = "sync_parked"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncClockRow(Base):
    """The hybrid logical clock of the newest change applied to a record shared across lanes."""

    __tablename__ = "sync_clocks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    hlc: Mapped[str] = mapped_column(String(112))  # ends with the lane id (up to 80 characters)


class HubLaneRow(Base):
    """A lane the hub serves: how far its feed is applied, when it was last seen, what it runs."""

    __tablename__ = "hub_lanes"

    lane_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    acked_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[str | None] = mapped_column(String(40))
    backlog: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skew_ms: Mapped[int | None] = mapped_column(Integer)
    settings_version: Mapped[int | None] = mapped_column(Integer)
    token_name: Mapped[str | None] = mapped_column(String(64))  # the token the lane pushes with; no other may


class HubRecordRow(Base):
    """A lane's record as the hub keeps it: the row's columns as JSON, from the lane's feed entry `seq`."""

    __tablename__ = "hub_records"

    lane_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HubReceiptRow(Base):
    """A receipt of any lane, as the hub's lists and searches read it."""

    __tablename__ = "hub_receipts"
    __table_args__ = (
        Index("ix_hub_receipts_occurred_at", "occurred_at"),
        Index("ix_hub_receipts_sale_id", "sale_id"),
        Index("ix_hub_receipts_card_last4", "card_last4"),
        Index("ix_hub_receipts_customer_key", "customer_key"),
    )

    lane_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    sale_id: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    total: Mapped[str] = mapped_column(String(24))
    card_last4: Mapped[str | None] = mapped_column(String(40))
    customer_key: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(16))


class HubParkedRow(Base):
    """A lane's record the hub could not apply: kept with why, counted, shown on both sides."""

    __tablename__ = "hub_parked"

    lane_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HubProfileChangeRow(Base):
    """A change to a customer's preferences, consents or opt-outs, handed back to every other lane in order."""

    __tablename__ = "hub_profile_changes"
    __table_args__ = (Index("ix_hub_profile_changes_key", "kind", "key"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin_lane: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(160))
    hlc: Mapped[str] = mapped_column(String(112))  # ends with the lane id (up to 80 characters)
    data: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class HubSettingsRow(Base):
    """A store's settings managed on the hub (branding, routing, retention), each version numbered."""

    __tablename__ = "hub_settings"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(64))


class HubRequestRow(Base):
    """Work asked of a lane through the hub (a resend of a receipt the lane owns), and how it went."""

    __tablename__ = "hub_requests"
    __table_args__ = (Index("ix_hub_requests_lane_state", "lane_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lane_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    receipt_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str | None] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    detail: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HubCustomerAliasRow(Base):
    """Each key a lane's customer is known by (loyalty id, every phone and email), beside the one key their
    receipts carry (`hub_receipts.customer_key`): a search by any of them finds the receipts."""

    __tablename__ = "hub_customer_aliases"
    __table_args__ = (
        Index("ix_hub_customer_aliases_key", "lane_id", "customer_key"),
        Index("ix_hub_customer_aliases_alias", "alias"),
    )

    lane_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    alias: Mapped[str] = mapped_column(String(330), primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(80), primary_key=True)


class SyncRequestRow(Base):
    """A request from the hub this lane carried out (once: its id is the key), and whether the hub heard."""

    __tablename__ = "sync_requests"

    request_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    receipt_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[str | None] = mapped_column(String(36))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncSettingsRow(Base):
    """The store settings this lane last pulled from its hub, with their version."""

    __tablename__ = "sync_settings"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[str] = mapped_column(Text)
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime())
