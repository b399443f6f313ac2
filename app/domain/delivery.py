"""The life of one delivery (one receipt on one channel through one provider).

States form a closed set; every change goes through `transition`, which refuses the impossible.
"""

from __future__ import annotations

from enum import StrEnum

from app.domain.errors import ReceiptDeskError


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    QUEUED = "queued"  # waiting in the outbox for its next attempt
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"  # the provider confirmed delivery
    BOUNCED = "bounced"  # the provider reported a bounce / undelivered
    FAILED = "failed"  # refused permanently by the provider
    DEAD = "dead"  # gave up: too many attempts or too old
    UNKNOWN = "unknown"  # a timeout left the outcome open
    HELD = "held"  # an attempt in doubt that its provider cannot look up: a manager sends or drops it


ACTIVE = frozenset({DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.UNKNOWN})
"""States the dispatcher still works on."""

FINAL = frozenset({DeliveryState.DELIVERED, DeliveryState.BOUNCED, DeliveryState.FAILED, DeliveryState.DEAD})

_ALLOWED: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.QUEUED: frozenset({DeliveryState.SENDING, DeliveryState.DEAD}),
    DeliveryState.SENDING: frozenset(
        {
            DeliveryState.SENDING,  # lease expired, claimed again
            DeliveryState.SENT,
            DeliveryState.DELIVERED,
            DeliveryState.QUEUED,
            DeliveryState.FAILED,
            DeliveryState.DEAD,
            DeliveryState.UNKNOWN,
            DeliveryState.HELD,
        }
    ),
    DeliveryState.UNKNOWN: frozenset(
        {
            DeliveryState.SENDING,
            DeliveryState.SENT,
            DeliveryState.DELIVERED,
            DeliveryState.BOUNCED,
            DeliveryState.DEAD,
            DeliveryState.HELD,
        }
    ),
    DeliveryState.HELD: frozenset({DeliveryState.QUEUED, DeliveryState.DEAD, DeliveryState.SENT}),  # a manager's call
    DeliveryState.SENT: frozenset({DeliveryState.DELIVERED, DeliveryState.BOUNCED, DeliveryState.FAILED}),
    DeliveryState.DELIVERED: frozenset({DeliveryState.BOUNCED}),  # a late asynchronous bounce
    DeliveryState.BOUNCED: frozenset(),
    DeliveryState.FAILED: frozenset({DeliveryState.QUEUED}),  # a manager's retry
    DeliveryState.DEAD: frozenset({DeliveryState.QUEUED}),  # a manager's retry
}


class IllegalTransition(ReceiptDeskError):
    """A delivery was asked to move to a state it cannot reach from where it is."""


def can_transition(current: DeliveryState, new: DeliveryState) -> bool:
    return new in _ALLOWED[current]


def transition(current: DeliveryState, new: DeliveryState) -> DeliveryState:
    """Return `new` when the move is allowed, else raise `IllegalTransition`."""
    if not can_transition(current, new):
        raise IllegalTransition(f"A delivery cannot go from {current.value} to {new.value}.")
    return new
