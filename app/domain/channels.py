"""Channels a receipt can go out on, and the languages it can be written in."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a customer gets a receipt."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    PRINT = "print"


class Language(StrEnum):
    """Languages every customer-facing text exists in."""

    EN = "en"
    ES = "es"
