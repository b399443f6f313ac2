"""Attempts in doubt: a request that may have left, and may have reached the customer, before a crash.

An attempt is recorded (`sending`) before its request leaves. When its worker dies before the answer
is recorded, the attempt is `in_doubt`: the customer may have the message or not. It is never sent
again as if nothing had happened; it is settled one of these ways:

- the provider can be asked (`Lookup`): found → the delivery is `sent`, nothing goes out again;
  not found → it is sent again, as a plain next attempt;
- the provider cannot be asked: the channel's `InDoubtPolicy` decides: `resend` sends it again
  and marks the new attempt a possible duplicate; `hold` moves the delivery to `held` until a
  manager sends it (a possible duplicate, by their decision) or drops it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from app.domain.channels import Channel


class AttemptOutcome(StrEnum):
    """Where one attempt stands (`delivery_attempts.outcome`)."""

    SENDING = "sending"  # recorded before the request left; the answer is not in yet
    IN_DOUBT = "in_doubt"  # its worker died while it was `sending`
    SENT = "sent"
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"  # the provider did not answer in time: it may have taken the message
    SKIPPED = "skipped"  # nothing was sent (every provider's circuit open)


class SettledBy(StrEnum):
    """How an attempt in doubt was settled (`delivery_attempts.settled_by`)."""

    LOOKUP_FOUND = "lookup_found"  # the provider has the message: not sent again
    LOOKUP_NOT_FOUND = "lookup_not_found"  # the provider has no such message: sent again
    RESENT = "resent_possible_duplicate"  # the provider cannot tell: sent again, marked
    HELD = "held"  # the provider cannot tell: waiting for a manager
    SENT_BY_MANAGER = "sent_by_manager"  # a manager chose to send it again (a possible duplicate)
    DROPPED = "dropped"  # a manager chose not to send it again


class InDoubtPolicy(StrEnum):
    """What to do, per channel, with an attempt in doubt whose provider cannot be asked."""

    RESEND = "resend"  # at least once: send again, marked as a possible duplicate
    HOLD = "hold"  # wait for a manager's decision


DEFAULT_IN_DOUBT: Mapping[Channel, InDoubtPolicy] = MappingProxyType(
    {
        # A second email is a nuisance a mail client folds (same Message-ID); a missing one is a lost receipt.
        Channel.EMAIL: InDoubtPolicy.RESEND,
        # A second text costs money and the customer's patience, and the one SMS provider that cannot be
        # asked is rare: a manager decides.
        Channel.SMS: InDoubtPolicy.HOLD,
        Channel.WHATSAPP: InDoubtPolicy.HOLD,
        Channel.PUSH: InDoubtPolicy.RESEND,
        Channel.PRINT: InDoubtPolicy.RESEND,  # the customer is at the till; a second slip harms no one
        Channel.CHAT: InDoubtPolicy.RESEND,  # internal audit posts
        Channel.CRM: InDoubtPolicy.RESEND,
    }
)
"""What each channel does with an attempt in doubt that its provider cannot look up."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """A provider's answer to "did you take this message?", asked by the delivery's own reference.

    `found` is None when the provider could not say (its lookup failed): the attempt stays in doubt
    and is asked again later.
    """

    found: bool | None
    provider_message_id: str | None = None
    raw_status: str | None = None
    detail: str | None = None
