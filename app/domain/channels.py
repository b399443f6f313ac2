"""Channels a receipt can go out on, and the languages it can be written in."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a customer gets a receipt."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    PUSH = "push"
    PRINT = "print"
    CHAT = "chat"  # internal audit summaries (Slack, Teams); never the full receipt
    CRM = "crm"  # records for support and CRM (HubSpot, Salesforce, Freshdesk, Zendesk, Zapier)


class Language(StrEnum):
    """Languages every customer-facing text exists in."""

    EN = "en"
    ES = "es"
