"""Every provider adapter ReceiptDesk ships, by `provider_id`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from app.domain.errors import ConfigurationError
from app.providers.base import Capabilities, ProviderAdapter, SecretField, SettingField
from app.providers.fcm import FcmAdapter
from app.providers.freshdesk import FreshdeskAdapter
from app.providers.gmail import GmailAdapter
from app.providers.hubspot import HubSpotAdapter
from app.providers.mailgun import MailgunAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.msgraph import MsGraphAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.sendgrid import SendGridAdapter
from app.providers.ses import SesAdapter
from app.providers.sfmc import SfmcAdapter
from app.providers.slack import SlackAdapter
from app.providers.teams import TeamsAdapter
from app.providers.twilio import TwilioAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from app.providers.zapier import ZapierAdapter
from app.providers.zendesk import ZendeskAdapter


class AdapterClass(Protocol):
    provider_id: str
    display_name: str
    capabilities: Capabilities
    secret_fields: tuple[SecretField, ...]
    setting_fields: tuple[SettingField, ...]

    def create(
        self, http: httpx.AsyncClient, settings: Mapping[str, Any], secrets: Mapping[str, str | None]
    ) -> ProviderAdapter: ...


_CLASSES: tuple[AdapterClass, ...] = (
    TwilioAdapter,
    SendGridAdapter,
    MailgunAdapter,
    MandrillAdapter,
    PostmarkAdapter,
    SesAdapter,
    GmailAdapter,
    MsGraphAdapter,
    FcmAdapter,
    SfmcAdapter,
    TwilioWhatsAppAdapter,
    SlackAdapter,
    TeamsAdapter,
    HubSpotAdapter,
    FreshdeskAdapter,
    ZendeskAdapter,
    ZapierAdapter,
)
ADAPTERS: dict[str, AdapterClass] = {cls.provider_id: cls for cls in _CLASSES}


def adapter_class(provider_id: str) -> AdapterClass:
    try:
        return ADAPTERS[provider_id]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ConfigurationError(f"Unknown provider {provider_id!r}; known providers: {known}.") from None
