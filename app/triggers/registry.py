"""Every platform trigger ReceiptDesk ships, found in `app/triggers/`, built from settings and secrets.

A platform is added by adding its module: the `PlatformTrigger` subclass there declares its id and
fields. Secrets (webhook signing secrets, API tokens) come from the keyring or
`RECEIPTDESK_<PLATFORM>_<FIELD>` like the providers' (`receiptdesk secrets set <platform> <field>`);
`[platforms.<platform>]` of the settings file holds the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

import app.triggers
from app.domain.errors import ConfigurationError
from app.support.plugins import discover
from app.triggers.base import PlatformTrigger

Secret = Callable[[str, str], str | None]

# mypy refuses an abstract class as `type[T]`; discover keeps only its concrete subclasses
TRIGGERS: dict[str, type[PlatformTrigger]] = discover(
    app.triggers,
    PlatformTrigger,  # type: ignore[type-abstract]
    key="platform",
)
"""Every platform's trigger class, by platform id."""


def trigger_class(platform: str) -> type[PlatformTrigger]:
    """The trigger class of `platform`; an unknown one is a mistake in the settings file."""
    try:
        return TRIGGERS[platform]
    except KeyError:
        known = ", ".join(TRIGGERS)
        raise ConfigurationError(f"Unknown platform {platform!r} in [platforms]; known: {known}.") from None


def build_triggers(
    platforms: Mapping[str, Mapping[str, Any]], http: httpx.AsyncClient, secret: Secret, *, store_id: str
) -> dict[str, PlatformTrigger]:
    """The trigger of every platform that has a `[platforms.<name>]` section."""
    built: dict[str, PlatformTrigger] = {}
    for name, section in platforms.items():
        cls = trigger_class(name)
        secrets = {field.name: secret(name, field.name) for field in cls.secret_fields}
        built[name] = cls.create(http, section, secrets, store_id=store_id)
    return built
