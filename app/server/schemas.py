"""Response bodies of the local API (they appear in its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from app.domain.contacts import mask_contact
from app.domain.records import ReceiptDetail
from app.server.hub import LaneOut
from app.services.checkout import CheckoutResult
from app.services.health import Health


class QueuedDeliveryOut(BaseModel):
    id: str
    channel: str
    provider: str
    recipient: str
    state: str


class SaleAccepted(BaseModel):
    receipt_id: str
    sale_id: str
    duplicate: bool
    deliveries: list[QueuedDeliveryOut]
    warnings: list[str]

    @classmethod
    def of(cls, r: CheckoutResult) -> SaleAccepted:
        return cls(
            receipt_id=r.receipt_id,
            sale_id=r.sale_id,
            duplicate=r.duplicate,
            warnings=list(r.warnings),
            deliveries=[
                QueuedDeliveryOut(
                    id=d.id, channel=d.channel.value, provider=d.provider, recipient=d.masked_recipient, state=d.state
                )
                for d in r.deliveries
            ],
        )


class AttemptOut(BaseModel):
    number: int
    provider: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    status_code: int | None
    provider_message_id: str | None
    error: str | None
    settled_by: str | None = None  # how a doubt over this attempt was settled: lookup_found, held, dropped...
    settled_at: datetime | None = None
    settled_actor: str | None = None  # the manager who sent or dropped it
    possible_duplicate: bool = False  # sent while an earlier attempt may have reached the customer


class EventOut(BaseModel):
    kind: str
    raw_status: str
    provider: str
    occurred_at: datetime
    detail: str | None


class DeliveryOut(BaseModel):
    id: str
    channel: str
    provider: str
    recipient: str
    state: str
    attempts: list[AttemptOut]
    events: list[EventOut]
    provider_message_id: str | None
    last_error: str | None
    reason: str | None
    next_attempt_at: datetime
    updated_at: datetime


class OrderUpdateOut(BaseModel):
    """One step of the order's life after the receipt; `deliveries` are the ids that carried it."""

    id: str
    status: str
    source: str
    occurred_at: datetime
    recorded_at: datetime
    subject: str
    lines: list[dict[str, str | None]]
    tracking: list[dict[str, str | None]]
    refund_amount: Decimal | None
    reason: str | None
    deliveries: list[str]


class ReceiptOut(BaseModel):
    receipt_id: str
    sale_id: str
    store_id: str
    lane: str
    total: Decimal
    occurred_at: datetime
    created_at: datetime
    language: str
    subject: str
    content_hash: str
    sms_segments: int
    deliveries: list[DeliveryOut]
    updates: list[OrderUpdateOut]

    @classmethod
    def of(cls, d: ReceiptDetail) -> ReceiptOut:
        s = d.summary
        return cls(
            receipt_id=s.receipt_id,
            sale_id=s.sale_id,
            store_id=s.store_id,
            lane=s.lane,
            total=s.total,
            occurred_at=s.occurred_at,
            created_at=s.created_at,
            language=d.language,
            subject=d.subject,
            content_hash=d.content_hash,
            sms_segments=d.sms_segments,
            deliveries=[
                DeliveryOut(
                    id=x.id,
                    channel=x.channel.value,
                    provider=x.provider,
                    recipient=mask_contact(x.recipient),
                    state=x.state.value,
                    provider_message_id=x.provider_message_id,
                    last_error=x.last_error,
                    reason=x.reason,
                    next_attempt_at=x.next_attempt_at,
                    updated_at=x.updated_at,
                    attempts=[
                        AttemptOut(
                            number=a.number,
                            provider=a.provider,
                            started_at=a.started_at,
                            finished_at=a.finished_at,
                            outcome=a.outcome,
                            status_code=a.status_code,
                            provider_message_id=a.provider_message_id,
                            error=a.error,
                            settled_by=a.settled_by,
                            settled_at=a.settled_at,
                            settled_actor=a.settled_actor,
                            possible_duplicate=a.possible_duplicate,
                        )
                        for a in d.attempts.get(x.id, ())
                    ],
                    events=[
                        EventOut(
                            kind=e.kind,
                            raw_status=e.raw_status,
                            provider=e.provider,
                            occurred_at=e.occurred_at,
                            detail=e.detail,
                        )
                        for e in d.events.get(x.id, ())
                    ],
                )
                for x in d.deliveries
            ],
            updates=[
                OrderUpdateOut(
                    id=u.id,
                    status=u.status,
                    source=u.source,
                    occurred_at=u.occurred_at,
                    recorded_at=u.recorded_at,
                    subject=u.subject,
                    lines=list(u.detail.get("lines", [])),
                    tracking=list(u.detail.get("tracking", [])),
                    refund_amount=u.detail.get("refund_amount"),
                    reason=u.detail.get("reason"),
                    deliveries=list(u.delivery_ids),
                )
                for u in d.updates
            ],
        )


class ProviderOut(BaseModel):
    provider: str
    state: str
    circuit: str
    sent: int
    failed: int
    transient: int
    fallbacks: int
    last_error: str | None


class PlatformSyncOut(BaseModel):
    platform: str
    state: str  # ok | failing | pending | not configured
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    events_found: int  # sales the catch-up found that no webhook had brought


class HubSyncOut(BaseModel):
    """This lane's push to its hub."""

    url: str
    acked_seq: int  # the hub has every record up to this feed seq
    backlog: int  # feed entries waiting for the hub
    parked: int  # records the hub refused (kept on both sides)
    last_push_at: datetime | None  # the hub's last acknowledgement
    last_error: str | None
    skew_ms: int | None  # the hub's clock minus this lane's
    settings_version: int | None = None  # the store settings' version pulled from the hub (None: the file's own)


class HealthOut(BaseModel):
    ok: bool
    dispatcher_running: bool
    queue_depth: int
    due_now: int
    oldest_pending_age_s: float | None
    by_state: dict[str, int]
    providers: list[ProviderOut]
    last_error: str | None
    rejected_webhooks: dict[str, int]
    platform_sync: list[PlatformSyncOut] = []
    capture: str | None = None  # the print-stream pass-through: forwarding | starting | failed: why
    oldest_due_age_s: float | None = None  # how long the longest-waiting delivery due now has waited
    texts_to_new_numbers_last_hour: int | None = None  # numbers texted for the first time in the last hour
    alarms: list[str] = []  # one sentence each; any alarm makes `ok` false
    lanes: list[LaneOut] = []  # on a hub: each lane it serves, with its sync state
    held: int = 0  # deliveries waiting for a manager to send or drop them (`receiptdesk queue held`)
    possible_duplicates_today: dict[str, int] = {}  # by provider: deliveries sent again in doubt since midnight
    warnings: list[str] = []  # one sentence each; a warning leaves `ok` as it is
    hub: HubSyncOut | None = None  # this lane's push to its hub, when `[hub] url` is set

    @classmethod
    def of(cls, h: Health) -> HealthOut:
        return cls(
            ok=h.ok,
            dispatcher_running=h.dispatcher_running,
            queue_depth=h.queue_depth,
            due_now=h.due_now,
            oldest_pending_age_s=h.oldest_pending_age_s,
            oldest_due_age_s=h.oldest_due_age_s,
            by_state=h.by_state,
            last_error=h.last_error,
            rejected_webhooks=h.rejected_webhooks,
            capture=h.capture,
            texts_to_new_numbers_last_hour=h.new_number_texts.count if h.new_number_texts is not None else None,
            alarms=list(h.alarms),
            held=len(h.held),
            possible_duplicates_today=h.possible_duplicates_today,
            warnings=list(h.warnings),
            hub=HubSyncOut(
                url=h.hub_url,
                acked_seq=h.hub_sync.acked_seq,
                backlog=h.hub_sync.backlog,
                parked=h.hub_sync.parked,
                last_push_at=h.hub_sync.last_push_at,
                last_error=h.hub_sync.last_error,
                skew_ms=h.hub_sync.skew_ms,
                settings_version=h.hub_settings_version,
            )
            if h.hub_sync is not None and h.hub_url is not None
            else None,
            platform_sync=[
                PlatformSyncOut(
                    platform=s.platform,
                    state=s.state,
                    last_success_at=s.last_success_at,
                    last_attempt_at=s.last_attempt_at,
                    last_error=s.last_error or s.detail,
                    events_found=s.events_found,
                )
                for s in h.platform_sync
            ],
            providers=[
                ProviderOut(
                    provider=p.provider,
                    state=p.state,
                    circuit=p.circuit,
                    sent=p.sent,
                    failed=p.failed,
                    transient=p.transient,
                    fallbacks=p.fallbacks,
                    last_error=p.last_error,
                )
                for p in h.providers
            ],
        )
