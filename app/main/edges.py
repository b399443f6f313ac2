"""Wiring of the edges: provider adapters, provider status callbacks and the secret look-up they share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from app.config.secrets import SecretStore
from app.config.settings import Settings, routing_of
from app.domain.errors import ConfigurationError
from app.providers.base import ProviderAdapter
from app.providers.callback_registry import CALLBACKS
from app.providers.callbacks import StatusCallbacks
from app.providers.registry import ADAPTERS, adapter_class

log = logging.getLogger(__name__)

Secrets = SecretStore | Mapping[str, Mapping[str, str]]


def build_adapters(
    settings: Settings,
    http: httpx.AsyncClient,
    secrets: Secrets,
    *,
    strict: bool = True,
) -> tuple[dict[str, ProviderAdapter], dict[str, float | None]]:
    """One adapter per provider named in routing; their rate limits (settings override capabilities).

    With `strict=False` (tools that only read or queue) a provider whose credentials are missing is
    left out instead of stopping everything; a secret written into the settings file still stops it.
    """
    if strict:
        check_routing(settings)
    adapters: dict[str, ProviderAdapter] = {}
    rates: dict[str, float | None] = {}
    for provider_id in configured_providers(settings):
        cls = adapter_class(provider_id)
        section = adapter_section(settings, provider_id)
        secret_names = tuple(f.name for f in cls.secret_fields)
        rate = section.pop("rate_per_sec", None)
        if isinstance(secrets, SecretStore):
            values = secrets.for_provider(provider_id, secret_names)
        else:
            values = dict(secrets.get(provider_id, {}))
        try:
            adapters[provider_id] = cls.create(http, section, values)
        except ConfigurationError:
            if strict:
                raise
            log.info("%s is not set up; nothing will be sent through it from here", provider_id)
            continue
        rates[provider_id] = float(rate) if rate else (None if rate is not None else cls.capabilities.rate_per_sec)
    return adapters, rates


def check_routing(settings: Settings) -> None:
    """Refuse a channel routed to a provider that does not send it, in one line naming both.

    Caught at start, it is one line to fix; caught at the first sale, it is every receipt of the
    channel failing permanently.
    """
    for channel, chain in routing_of(settings).chains.items():
        for provider_id in chain:
            cls = adapter_class(provider_id)
            sends = cls.capabilities.channel
            if sends is not channel:
                able = sorted(pid for pid, other in ADAPTERS.items() if other.capabilities.channel is channel)
                hint = f" ({', '.join(able)} can)" if able else ""
                raise ConfigurationError(
                    f"[routing] {channel.value} = {provider_id!r}: {cls.display_name} sends {sends.value}, not "
                    f"{channel.value}; route {channel.value} to a provider that sends it{hint}."
                )


def configured_providers(settings: Settings) -> tuple[str, ...]:
    """Every provider the settings send through: the routing's chains, then the follow-ups, each once."""
    f = settings.followups
    return tuple(dict.fromkeys((*routing_of(settings).providers(), *f.after_delivery, *f.daily_summary)))


def adapter_section(settings: Settings, provider_id: str) -> dict[str, Any]:
    """The `[providers.<id>]` settings the adapter is built from (`rate_per_sec` still in), with our
    status-callback URL filled in when the provider calls back; a secret written into it is refused."""
    cls = adapter_class(provider_id)
    section = {k: v for k, v in settings.providers.get(provider_id, {}).items() if not k.startswith("webhook_")}
    url_setting = getattr(cls, "callback_url_setting", None)  # where the adapter tells it to call back
    if url_setting and provider_id in CALLBACKS and settings.api.public_url and url_setting not in section:
        section[url_setting] = settings.api.public_url.rstrip("/") + CALLBACKS[provider_id].event_path()
    leaked = [k for k in section if k in {f.name for f in cls.secret_fields}]
    if leaked:
        raise ConfigurationError(
            f"[providers.{provider_id}] holds the secret {leaked[0]!r}: remove it from the settings file and "
            f"store it with `receiptdesk secrets set {provider_id} {leaked[0]}`."
        )
    return section


def secret_getter(
    secrets: Secrets | None,
) -> Callable[[str, str], str | None]:
    store: Secrets = secrets if secrets is not None else SecretStore()
    if isinstance(store, SecretStore):
        return store.get
    return lambda owner, name: store.get(owner, {}).get(name)


def build_callbacks(settings: Settings, secrets: Secrets | None) -> dict[str, StatusCallbacks]:
    """The status callbacks of every provider that is set up to verify them, from the registry.

    Each reads its `[providers.<id>]` section and its secrets; one whose required fields are missing
    is left out, and its endpoint refuses everything.
    """
    secret = secret_getter(secrets)
    built: dict[str, StatusCallbacks] = {}
    for provider_id, cls in CALLBACKS.items():
        values = {f.name: secret(provider_id, f.name) for f in cls.secret_fields}
        try:
            built[provider_id] = cls.create(settings.providers.get(provider_id, {}), values)
        except ConfigurationError:
            continue
    return built
