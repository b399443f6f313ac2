"""Every provider adapter ReceiptDesk ships, by `provider_id`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from app.domain.errors import ConfigurationError
from app.providers.base import Capabilities, ProviderAdapter, SecretField, SettingField
from app.providers.sendgrid import SendGridAdapter
from app.providers.twilio import TwilioAdapter


class AdapterClass(Protocol):
    provider_id: str
    display_name: str
    capabilities: Capabilities
    secret_fields: tuple[SecretField, ...]
    setting_fields: tuple[SettingField, ...]

    def create(
        self, http: httpx.AsyncClient, settings: Mapping[str, Any], secrets: Mapping[str, str | None]
    ) -> ProviderAdapter: ...


ADAPTERS: dict[str, AdapterClass] = {cls.provider_id: cls for cls in (TwilioAdapter, SendGridAdapter)}  # type: ignore[misc]


def adapter_class(provider_id: str) -> AdapterClass:
    try:
        return ADAPTERS[provider_id]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ConfigurationError(f"Unknown provider {provider_id!r}; known providers: {known}.") from None
