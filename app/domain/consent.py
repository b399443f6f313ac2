"""The consent ledger's vocabulary: what a consent covers, where it came from, and how an opt-out is keyed.

A grant covers one channel for one purpose; a revocation stops the channel's whole group (a STOP to a
text stops SMS and WhatsApp alike, as carriers expect) and beats every grant, older or newer, until
the customer opts back in (START, or a new grant given in person).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from app.domain.channels import Channel
from app.domain.errors import ValidationFailed


class Purpose(StrEnum):
    """What a consent covers."""

    RECEIPTS = "receipts"
    ORDER_UPDATES = "order_updates"


class ChannelGroup(StrEnum):
    """The channels an opt-out stops together."""

    TEXT = "text"  # SMS and WhatsApp: one number, one STOP
    EMAIL = "email"


_GROUPS = {Channel.SMS: ChannelGroup.TEXT, Channel.WHATSAPP: ChannelGroup.TEXT, Channel.EMAIL: ChannelGroup.EMAIL}


def group_of(channel: Channel) -> ChannelGroup | None:
    """The opt-out group of a channel to a person's contact; None for the rest (print, push, internal audit)."""
    return _GROUPS.get(channel)


class ConsentSource(StrEnum):
    """Where a grant came from, or how a revocation arrived."""

    CUSTOMER_SCREEN = "customer_screen"
    STAFF = "staff"  # entered by a cashier or manager, who is named in `staff`
    REGISTER = "register"  # the POS asked for the channel, with the till's standard wording
    TEXT_IN = "text_in"  # the customer texted the store for the receipt
    STOP_REPLY = "stop_reply"
    START_REPLY = "start_reply"
    EMAIL_LINK = "email_link"  # RFC 8058 one-click, or the footer's link
    EMAIL_REPLY = "email_reply"  # the mailto: of List-Unsubscribe
    CASHIER = "cashier"
    MANAGER = "manager"


def contact_digest(contact: str) -> str:
    """The key of a contact's opt-out: SHA-256 of the normalised contact (E.164, or the address lower-cased)."""
    return hashlib.sha256(contact.strip().lower().encode("utf-8")).hexdigest()


def wording_version(text: str) -> str:
    """The version of a consent's wording: the first 12 hex digits of the SHA-256 of the exact text shown.

    The same words give the same version on every lane, and anyone holding the text can check it.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


OPTED_OUT = "Not sent: the customer opted out of these messages."
"""The reason a delivery cancelled by an opt-out carries (a delivery's reason, not an order's:
`app.domain.reasons` is the vocabulary of cancelled orders told to shoppers)."""

OPTED_OUT_SENTENCE = {
    ChannelGroup.TEXT: (
        "This number opted out of texts: the customer can opt back in by replying START or by choosing a text "
        "receipt on the customer screen."
    ),
    ChannelGroup.EMAIL: "This email address opted out of email receipts: no receipt is emailed to it.",
}
"""Why nothing was queued to a contact that opted out, in one sentence a cashier can act on."""

NO_TEXT_GRANT = "This number has not agreed to texts: ask the customer to choose a text receipt on the customer screen."
"""Why a text was not queued to a number with no grant for it."""


class ConsentRefused(ValidationFailed):
    """Nothing was queued: the contact opted out, or a text has no grant that covers it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="consent")
