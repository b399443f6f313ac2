"""Catch-up polls of the commerce platforms whose webhooks can be missed while a store is offline.

Every `Poller` subclass in this package is one polled platform, built from the same
`[platforms.<name>]` section and secrets as its trigger; a platform without the fields its poller
needs (say, Shopify's `access_token` secret and `shop` setting) is not polled, and says why.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from app.support.plugins import discover
from app.triggers.catchup.base import Poller, PollResult

Secret = Callable[[str, str], str | None]

# mypy refuses an abstract class as `type[T]`; discover keeps only its concrete subclasses
POLLERS: dict[str, type[Poller]] = discover(
    sys.modules[__name__],
    Poller,  # type: ignore[type-abstract]
    key="platform",
)
"""Every polled platform's poller class, by platform id."""
CATCHUP_PLATFORMS = tuple(POLLERS)


def build_pollers(
    platforms: Mapping[str, Mapping[str, Any]], http: httpx.AsyncClient, secret: Secret, *, store_id: str
) -> tuple[dict[str, Poller], dict[str, str]]:
    """The poller of every catch-up platform with a `[platforms.<name>]` section, and why the others are not."""
    pollers: dict[str, Poller] = {}
    not_polled: dict[str, str] = {}
    for name, cls in POLLERS.items():
        if name not in platforms:
            continue
        secrets = {field.name: secret(name, field.name) for field in cls.secret_fields}
        built = cls.create(http, platforms[name], secrets, store_id=store_id)
        if isinstance(built, str):
            not_polled[name] = built
        else:
            pollers[name] = built
    return pollers, not_polled


__all__ = ["CATCHUP_PLATFORMS", "POLLERS", "PollResult", "Poller", "build_pollers"]
