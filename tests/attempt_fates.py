"""Deliveries whose attempts met every fate, written straight into a real database for the views to read.

Receipts made by the real checkout, with deliveries written in their final state. The first receipt's
email went through a doubt settled by sending it again as a possible duplicate; its text was in doubt,
found at the provider and not sent again. A second receipt's text is held for a manager, and a third's
was dropped by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.delivery import DeliveryState
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.intake import parse_sale
from app.main import Runtime
from app.storage import outbox
from app.storage.database import UnitOfWork
from app.storage.models import AttemptRow, DeliveryRow
from app.triggers.pos import pos_event

AT = datetime(2026, 12, 4, 14, 5, 9, tzinfo=UTC)
MANAGER = "Ana Lee"
CUSTOMER = {"email": "ana@example.com", "phone": "+12175550142", "channels": ["email", "sms"]}


@dataclass(frozen=True, slots=True)
class Fates:
    receipt_id: str  # email: resent as a possible duplicate; text: found at the provider
    held_receipt_id: str  # its text is held
    dropped_receipt_id: str  # its text was dropped by MANAGER
    email_id: str
    text_id: str
    held_id: str
    dropped_id: str


async def _receipt(rt: Runtime, payload: dict[str, Any]) -> str:
    """A receipt with no delivery of its own: the fates' deliveries are written in their final state, so a
    running dispatcher never sees them queued."""
    payload.pop("customer", None)
    result = await rt.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return result.receipt_id


def _delivery(session: UnitOfWork, receipt_id: str, channel: Channel, state: DeliveryState, attempts: int) -> str:
    provider, to = ("sendgrid", "ana@example.com") if channel is Channel.EMAIL else ("twilio", "+12175550142")
    made = outbox.new_delivery(session, receipt_id=receipt_id, channel=channel, provider=provider, recipient=to, now=AT)
    values = {"state": state.value, "attempts": attempts, "updated_at": AT + timedelta(minutes=30)}
    session.execute(update(DeliveryRow).where(DeliveryRow.id == made.id).values(**values))
    return made.id


def _attempt(delivery_id: str, number: int, provider: str, outcome: AttemptOutcome, **extra: Any) -> AttemptRow:
    started = AT + timedelta(minutes=number)
    finished = None if outcome in (AttemptOutcome.IN_DOUBT, AttemptOutcome.SENDING) else started + timedelta(seconds=1)
    return AttemptRow(
        delivery_id=delivery_id,
        number=number,
        provider=provider,
        started_at=started,
        finished_at=finished,
        outcome=outcome.value,
        **extra,
    )


async def write_fates(rt: Runtime, make_sale: Any) -> Fates:
    """Three receipts (sales S-9001..S-9003) and their deliveries and attempts."""
    receipt_id = await _receipt(rt, make_sale("S-9001", seed=11))
    held_receipt_id = await _receipt(rt, make_sale("S-9002", seed=12))
    dropped_receipt_id = await _receipt(rt, make_sale("S-9003", seed=13))
    settled = AT + timedelta(minutes=30)

    def job(session: UnitOfWork) -> Fates:
        email = _delivery(session, receipt_id, Channel.EMAIL, DeliveryState.SENT, 3)
        text = _delivery(session, receipt_id, Channel.SMS, DeliveryState.SENT, 1)
        held = _delivery(session, held_receipt_id, Channel.SMS, DeliveryState.HELD, 1)
        dropped = _delivery(session, dropped_receipt_id, Channel.SMS, DeliveryState.DEAD, 1)
        found, resent = SettledBy.LOOKUP_FOUND.value, SettledBy.RESENT.value
        session.add_all(
            [
                _attempt(
                    email, 1, "sendgrid", AttemptOutcome.TRANSIENT, status_code=503, error="SendGrid answered 503"
                ),
                _attempt(email, 2, "sendgrid", AttemptOutcome.IN_DOUBT, settled_by=resent, settled_at=settled),
                _attempt(email, 3, "sendgrid", AttemptOutcome.SENT, possible_duplicate=True, provider_message_id="sg"),
                _attempt(text, 1, "twilio", AttemptOutcome.IN_DOUBT, settled_by=found, settled_at=settled),
                _attempt(
                    held, 1, "twilio", AttemptOutcome.IN_DOUBT, settled_by=SettledBy.HELD.value, settled_at=settled
                ),
                _attempt(
                    dropped,
                    1,
                    "twilio",
                    AttemptOutcome.IN_DOUBT,
                    settled_by=SettledBy.DROPPED.value,
                    settled_at=settled,
                    settled_actor=MANAGER,
                ),
            ]
        )
        return Fates(receipt_id, held_receipt_id, dropped_receipt_id, email, text, held, dropped)

    return await rt.db.write(job)
