"""What became of the messages the sandbox's providers accepted, as their status APIs tell it.

A stand-in accepts a message and, unless told otherwise, it stays on its way for ever (no final
status), which is what a status check exists for. Tests and the demo set a message's fate here:
`set_outcome(store, "twilio", sid, DELIVERED)` (or `BOUNCED`, with a reason), and each stand-in's
status endpoint answers from it in its provider's own words. The outcomes live beside the store they
belong to, so each sandbox app has its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from weakref import WeakKeyDictionary

from app.sandbox.store import MessageStore


class Fate(StrEnum):
    """What became of a message, in words every stand-in translates into its provider's."""

    DELIVERED = "delivered"
    BOUNCED = "bounced"  # the mailbox or number refused it for good
    FAILED = "failed"  # the provider did not hand it on


@dataclass(frozen=True, slots=True)
class Outcome:
    fate: Fate
    reason: str | None = None
    at: datetime | None = None


_OUTCOMES: WeakKeyDictionary[MessageStore, dict[tuple[str, str], Outcome]] = WeakKeyDictionary()


def set_outcome(store: MessageStore, provider: str, message_id: str, fate: Fate, reason: str | None = None) -> None:
    """Make the message `message_id` that `provider` accepted end as `fate` (now)."""
    _OUTCOMES.setdefault(store, {})[(provider, message_id)] = Outcome(fate, reason, datetime.now(UTC))


def outcome_of(store: MessageStore, provider: str, message_id: str) -> Outcome | None:
    """The fate set for the message, or None while it is still on its way."""
    return _OUTCOMES.get(store, {}).get((provider, message_id))


def find(store: MessageStore, provider: str, message_id: str) -> bool:
    """Whether `provider` accepted a message with this id (the store holds it)."""
    return any(record.id == message_id for record in store.messages(provider))
