"""Response bodies of the local API (they appear in its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from app.domain.contacts import mask_contact
from app.domain.records import ReceiptDetail
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
    finished_at: datetime
    outcome: str
    status_code: int | None
    provider_message_id: str | None
    error: str | None


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

    @classmethod
    def of(cls, h: Health) -> HealthOut:
        return cls(
            ok=h.ok,
            dispatcher_running=h.dispatcher_running,
            queue_depth=h.queue_depth,
            due_now=h.due_now,
            oldest_pending_age_s=h.oldest_pending_age_s,
            by_state=h.by_state,
            last_error=h.last_error,
            rejected_webhooks=h.rejected_webhooks,
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
