"""Every provider adapter ReceiptDesk ships, by `provider_id`, found in `app.providers`.

Adding a provider is adding its module with one `HttpAdapter` subclass: the wiring, the settings
screens (through the catalogue service), the CLI and the health page read this registry and list
no provider by name.
"""

from __future__ import annotations

import app.providers
from app.domain.errors import ConfigurationError
from app.providers.base import HttpAdapter
from app.support.plugins import discover

AdapterClass = type[HttpAdapter]

# mypy refuses an abstract class as `type[T]`; discover keeps only its concrete subclasses
ADAPTERS: dict[str, AdapterClass] = discover(
    app.providers,
    HttpAdapter,  # type: ignore[type-abstract]
    key="provider_id",
)


def adapter_class(provider_id: str) -> AdapterClass:
    """The adapter class of `provider_id`; an unknown one fails naming the known providers."""
    try:
        return ADAPTERS[provider_id]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ConfigurationError(f"Unknown provider {provider_id!r}; known providers: {known}.") from None
