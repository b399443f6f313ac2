"""What services hand to the faces: receipts, deliveries and attempts as plain read-only records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    number: int
    provider: str
    started_at: datetime
    finished_at: datetime | None  # None while the attempt is `sending` or `in_doubt`
    outcome: str
    status_code: int | None
    provider_message_id: str | None
    raw_status: str | None
    error: str | None
    settled_by: str | None = None  # how an attempt in doubt was settled (`SettledBy`), None when it never was
    settled_at: datetime | None = None
    settled_actor: str | None = None  # the manager who sent or dropped a held delivery
    possible_duplicate: bool = False  # sent again while an earlier attempt may have reached the customer


@dataclass(frozen=True, slots=True)
class EventRecord:
    """Something the provider reported after the send (delivered, bounced, opened...)."""

    kind: str
    raw_status: str
    provider: str
    occurred_at: datetime
    detail: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    receipt_id: str
    channel: Channel
    provider: str
    recipient: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    provider_message_id: str | None
    last_error: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    """One line of a receipts list."""

    receipt_id: str
    sale_id: str
    store_id: str
    lane: str
    occurred_at: datetime
    total: Decimal
    created_at: datetime
    channels: tuple[Channel, ...]
    recipients: tuple[str, ...]
    states: tuple[DeliveryState, ...]


@dataclass(frozen=True, slots=True)
class ReceiptDetail:
    """A receipt with its rendered forms and the whole delivery timeline."""

    summary: ReceiptSummary
    language: str
    subject: str
    html: str
    text: str
    sms_body: str
    sms_segments: int
    content_hash: str
    deliveries: tuple[DeliveryRecord, ...]
    attempts: dict[str, tuple[AttemptRecord, ...]]
    events: dict[str, tuple[EventRecord, ...]] = field(default_factory=dict)
    updates: tuple[UpdateRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """One step of an order's life after its receipt (shipped, cancelled, refunded)."""

    id: str
    status: str
    source: str
    occurred_at: datetime
    recorded_at: datetime
    subject: str
    text: str
    detail: dict[str, Any]
    delivery_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The outbox at a glance."""

    by_state: dict[str, int]
    due_now: int
    oldest_pending_at: datetime | None
    oldest_due_at: datetime | None = None
    """When the longest-waiting delivery that is due now became due: long ago means nothing is sending."""


@dataclass(frozen=True, slots=True)
class DoubtfulAttempt:
    """An earlier attempt of a claimed delivery that may have reached the customer: its worker died while
    it was `sending` (now `in_doubt`), or its provider did not answer in time (`unknown`)."""

    number: int
    provider: str
    started_at: datetime
    outcome: str  # in_doubt | unknown


@dataclass(frozen=True, slots=True)
class DoubtSettlement:
    """How a claim settles the attempt in doubt it carried (`SettledBy`), written with the claim's outcome."""

    number: int
    settled_by: str
    provider: str
    provider_message_id: str | None = None  # what the provider's lookup found
    raw_status: str | None = None


@dataclass(frozen=True, slots=True)
class HeldDelivery:
    """A delivery held for a manager: its last attempt is in doubt and its provider cannot be asked."""

    id: str
    receipt_id: str | None
    channel: Channel
    provider: str
    recipient: str  # masked
    since: datetime


TEMPLATE_REFUSED = "template_refused"
"""The outcome of an attempt whose send with a store's provider template was refused: the delivery's
next attempt sends our own rendering (`app.services.attempts`)."""


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds under lease, with the receipt content it sends."""

    id: str
    receipt_id: str | None  # None for a message that is not a receipt (a daily summary)
    sale_id: str | None
    channel: Channel
    provider: str
    recipient: str
    attempt: int
    idempotency_key: str
    created_at: datetime
    subject: str
    html: str
    text: str
    sms_body: str
    metadata: dict[str, str] = field(default_factory=dict)
    doubt: DoubtfulAttempt | None = None  # an earlier attempt to settle before anything is sent again
    possible_duplicate: bool = False  # an earlier attempt was resent in doubt: whatever goes out may be a second
    recorded: bool = False  # the claim wrote its attempt (`sending`) already: it starts now
    template_data: str | None = None  # the receipt's data (JSON) for a store's provider template
    own_design: bool = False  # a template send of this delivery was refused: send our own rendering
    unsubscribe_token: str | None = None  # a receipt e-mail's List-Unsubscribe token (app.domain.unsubscribe)


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of one attempt, to be written back to the outbox in one go."""

    delivery_id: str
    attempt: int
    provider: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # sent | delivered | transient | permanent | unknown | skipped
    new_state: DeliveryState
    next_attempt_at: datetime | None
    status_code: int | None = None
    provider_message_id: str | None = None
    raw_status: str | None = None
    error: str | None = None
    reason: str | None = None
    route_to: str | None = None  # the provider for the next attempt, when it changes
    failover_from: str | None = None  # set when this attempt went to a fallback provider
    counts: bool = True  # False when nothing was sent (every provider's circuit open, a doubt settled)
    recorded: bool = True  # whether its attempt row was written before the request left (`sending`)
    doubt: DoubtSettlement | None = None  # the attempt in doubt this claim settled without sending
