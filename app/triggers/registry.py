"""Every platform trigger ReceiptDesk ships, built from `[platforms.<name>]` settings and secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from app.triggers.base import Trigger


class SecretSource:
    """Anything with `get(provider, field) -> str | None` (the keyring store, or a test's mapping)."""

    def get(self, provider: str, field: str) -> str | None: ...


def build_triggers(settings: Any, http: httpx.AsyncClient, secrets: Any) -> Mapping[str, Trigger]:
    """The triggers of the platforms configured in the settings file (none until one is set up)."""
    return {}
