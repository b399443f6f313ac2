"""Whose secrets ReceiptDesk keeps, and which: read from every plug-in registry.

`receiptdesk secrets set <owner> <field>` is checked against this, so a typo is refused in one line
that names what is known, instead of storing a secret nothing will ever read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.domain.errors import ValidationFailed
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN
from app.domain.plugins import SecretField
from app.providers.callback_registry import CALLBACKS
from app.providers.registry import ADAPTERS
from app.services.kiosk.lock import PIN_OWNER, PIN_SECRET
from app.triggers.catchup import POLLERS
from app.triggers.registry import TRIGGERS


def secret_owners() -> dict[str, tuple[SecretField, ...]]:
    """Every provider and platform that keeps secrets, the kiosk's manager PIN and the hub token, in name order."""
    kinds: Iterable[Mapping[str, type]] = (ADAPTERS, CALLBACKS, TRIGGERS, POLLERS)
    owners: dict[str, dict[str, SecretField]] = {
        PIN_OWNER: {PIN_SECRET.name: PIN_SECRET},
        HUB_OWNER: {HUB_TOKEN.name: HUB_TOKEN},
    }
    for registry in kinds:
        for owner, plugin in registry.items():
            for secret in getattr(plugin, "secret_fields", ()):
                owners.setdefault(owner, {}).setdefault(secret.name, secret)
    return {owner: tuple(fields[name] for name in sorted(fields)) for owner, fields in sorted(owners.items())}


def check_secret_name(owner: str, field: str) -> None:
    """Refuse an owner or a field that no provider or platform reads."""
    owners = secret_owners()
    if owner not in owners:
        raise ValidationFailed(
            f"No provider or platform called {owner!r} keeps secrets; "
            "`receiptdesk secrets list` shows the ones that do."
        )
    names = [f.name for f in owners[owner]]
    if field not in names:
        raise ValidationFailed(f"{owner} keeps no secret called {field!r}; its secrets are {', '.join(names)}.")
