"""The providers ReceiptDesk ships, as data for the settings screens.

Names, the channel each carries, its capabilities and the fields it needs (settings from the file,
secrets from the keyring) are read from the provider registry (`app.providers.registry`), so the
screens list providers, group them by channel and build their forms without importing an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.channels import Channel
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities
from app.providers.registry import ADAPTERS, AdapterClass


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """One provider as the settings screens show it."""

    id: str
    display_name: str
    channel: Channel
    capabilities: Capabilities
    setting_fields: tuple[SettingField, ...]
    secret_fields: tuple[SecretField, ...]


class ProviderCatalogue:
    """Every provider of the registry (or of `adapters`): customer channels first, then by name."""

    def __init__(self, adapters: Mapping[str, AdapterClass] = ADAPTERS) -> None:
        channels = list(Channel)
        infos = (_info(cls) for cls in adapters.values())
        self._providers = tuple(sorted(infos, key=lambda p: (channels.index(p.channel), p.display_name.casefold())))

    def providers(self) -> tuple[ProviderInfo, ...]:
        """Every provider: e-mail first, then text, WhatsApp, push, chat and CRM; by name within each."""
        return self._providers

    def for_channel(self, channel: Channel) -> tuple[ProviderInfo, ...]:
        """The providers that carry `channel`, by name."""
        return tuple(p for p in self._providers if p.channel is channel)


def _info(cls: AdapterClass) -> ProviderInfo:
    return ProviderInfo(
        id=cls.provider_id,
        display_name=cls.display_name,
        channel=cls.capabilities.channel,
        capabilities=cls.capabilities,
        setting_fields=tuple(cls.setting_fields),
        secret_fields=tuple(cls.secret_fields),
    )
