"""Delivery events reported by providers after the send, in one closed vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.delivery import DeliveryState, can_transition


class EventKind(StrEnum):
    ACCEPTED = "accepted"  # the provider queued or processed it
    DEFERRED = "deferred"  # temporarily delayed; the provider keeps trying
    DELIVERED = "delivered"
    BOUNCED = "bounced"  # the mailbox or number refused it
    DROPPED = "dropped"  # the provider refused to attempt it (suppression list, invalid)
    UNDELIVERED = "undelivered"  # SMS carrier could not deliver
    OPENED = "opened"
    CLICKED = "clicked"
    SPAM_REPORT = "spam_report"
    UNSUBSCRIBED = "unsubscribed"
    UNKNOWN = "unknown"


STATE_AFTER: dict[EventKind, DeliveryState] = {
    EventKind.DELIVERED: DeliveryState.DELIVERED,
    EventKind.OPENED: DeliveryState.DELIVERED,  # an open proves delivery
    EventKind.CLICKED: DeliveryState.DELIVERED,
    EventKind.BOUNCED: DeliveryState.BOUNCED,
    EventKind.DROPPED: DeliveryState.BOUNCED,
    EventKind.UNDELIVERED: DeliveryState.BOUNCED,
}
"""The delivery state an event moves a delivery to; events not listed only join the timeline."""

NOT_RECEIVED = frozenset({EventKind.BOUNCED, EventKind.DROPPED, EventKind.UNDELIVERED})
"""Events after which the customer does not have the receipt on that channel."""


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One event from a provider's callback, already verified and parsed.

    Found by `delivery_key` (our idempotency key, when the provider echoes it) or else by
    `provider_message_id`. `event_id` deduplicates a callback the provider sends twice.
    """

    provider: str
    event_id: str
    kind: EventKind
    occurred_at: datetime
    raw_status: str
    raw: str
    provider_message_id: str | None = None
    delivery_key: str | None = None
    detail: str | None = None


def next_state(current: DeliveryState, kind: EventKind) -> DeliveryState | None:
    """The state after `kind`, or None when the event leaves the state alone (or arrives too late)."""
    target = STATE_AFTER.get(kind)
    if target is None or target is current:
        return None
    if current in (DeliveryState.SENDING, DeliveryState.QUEUED, DeliveryState.UNKNOWN):
        # The provider has the message: its callback beat our own settlement, or it settles an ambiguous
        # timeout (which would otherwise be retried).
        return target
    return target if can_transition(current, target) else None


# --- asking a provider for a message's status (the status check) ---------------------------------

STATUS_CHECK_PREFIX = "status-check:"
"""The start of the event id of every event a status check records (callbacks' ids never start so)."""


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """What a provider's status API said about one message it accepted.

    `kind` is in the callbacks' vocabulary: DELIVERED, BOUNCED, DROPPED, UNDELIVERED move the delivery
    as the same callback would; ACCEPTED or DEFERRED mean it is still on its way; UNKNOWN that the
    provider has no such message, or said something this version cannot read.
    """

    kind: EventKind
    raw_status: str
    detail: str | None = None
    occurred_at: datetime | None = None
    raw: str = ""


@dataclass(frozen=True, slots=True)
class StatusCheck:
    """The outcome of asking once: an `answer`, or `error` (unreachable, an error answer: ask again later)."""

    answer: StatusAnswer | None = None
    error: str | None = None


def is_status_check(event_id: str) -> bool:
    """Whether an event was recorded by a status check rather than reported by a callback."""
    return event_id.startswith(STATUS_CHECK_PREFIX)


def status_check_event(
    provider: str,
    provider_message_id: str,
    answer: StatusAnswer,
    *,
    checked_at: datetime,
    delivery_key: str | None = None,
    detail: str | None = None,
) -> StatusEvent:
    """The event a status answer records: a callback's twin, with an id of its own so asking twice
    (two terminals, a restart mid-round) records it once."""
    return StatusEvent(
        provider=provider,
        event_id=f"{STATUS_CHECK_PREFIX}{provider_message_id}:{answer.kind.value}"[:200],
        kind=answer.kind,
        occurred_at=answer.occurred_at or checked_at,
        raw_status=answer.raw_status[:64] or answer.kind.value,
        raw=answer.raw or "{}",
        provider_message_id=provider_message_id,
        delivery_key=delivery_key,
        detail=detail if detail is not None else answer.detail,
    )
