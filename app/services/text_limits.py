"""The text limits applied inside a unit of work: may this text be queued now, and is the alarm up?

Every place that queues a text asks `check_text` first, in the same transaction as the delivery
it would write: `queue_receipt` (checkout and the kiosk), the order-update notices and the resend
by hand. The rules and their sentences live in `app.domain.text_limits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.channels import Channel
from app.domain.text_limits import (
    DAY,
    HOUR,
    NewNumberTexts,
    TextLimits,
    country_refusal,
    is_text,
    new_number_resend_refusal,
    number_cap_refusal,
)
from app.storage import text_counts
from app.storage.database import UnitOfWork


@dataclass(frozen=True, slots=True)
class TextCheck:
    """The verdict on one text: why it may not go (None: it may), and for a resend whether the number is new."""

    refusal: str | None
    new_number: bool | None = None


ALLOWED = TextCheck(None)


def check_text(
    session: UnitOfWork,
    channel: Channel,
    recipient: str,
    limits: TextLimits,
    *,
    now: datetime,
    resend: bool = False,
) -> TextCheck:
    """Whether a message on `channel` to `recipient` may be queued at `now`; anything not a text may.

    The country comes first (it needs no counting), then the number's texts in the last 24 hours,
    then, for a `resend` to a number never texted before, the resends to new numbers in the last hour.
    """
    if not is_text(channel):
        return ALLOWED
    refusal = country_refusal(recipient, limits) or number_cap_refusal(
        text_counts.texts_to(session, recipient, since=now - DAY), limits
    )
    if refusal is not None or not resend:
        return TextCheck(refusal)
    if text_counts.ever_texted(session, recipient):
        return TextCheck(None, new_number=False)
    resends = text_counts.resends_to_new_numbers_since(session, now - HOUR)
    return TextCheck(new_number_resend_refusal(resends, limits), new_number=True)


def new_number_texts(session: UnitOfWork, limits: TextLimits, *, now: datetime) -> NewNumberTexts:
    """How many numbers got their first text in the hour before `now`, against the alarm's threshold."""
    return NewNumberTexts(text_counts.new_numbers_since(session, now - HOUR), limits.new_number_alarm_per_hour)
