"""The consent ledger's vocabulary: what a consent covers, where it came from, and how an opt-out is keyed.

A grant covers one channel for one purpose; a revocation stops the channel's whole group (a STOP to a
text stops SMS and WhatsApp alike, as carriers expect) and beats every grant, older or newer, until
the customer opts back in (START, or a new grant given in person).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from app.domain.channels import Channel


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
