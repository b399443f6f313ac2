"""What every platform trigger is: verify the raw request, then translate it into trigger events.

A trigger never touches the database or the outbox. It checks the signature over the raw bytes with
a constant-time compare, refuses replays outside the platform's tolerance, and maps the platform's
payload to the canonical `Sale` (via `app.domain.intake.parse_sale`, so card numbers and totals are
checked exactly as for the POS) inside a `TriggerEvent` carrying the platform's own event id and
order id. Checkout does the rest (dedupe, one receipt per sale).

`PlatformTrigger` owns building from the declared fields; a platform module keeps its class data,
its constructor (credentials as keyword arguments), `verify` and `events`. The registry finds every
subclass in `app/triggers/`, so nothing else lists a platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import httpx

from app.domain.errors import ConfigurationError, ReceiptDeskError
from app.domain.events import PlatformEvent
from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField, SettingField, fields_set, require_fields


class NotApplicable(ReceiptDeskError):
    """A genuine event that asks for no receipt (e.g. an order update that is not paid yet)."""


class PlatformTrigger(ABC):
    """The base of `app/triggers/<platform>.py`'s `<Platform>Trigger`: class data, `create`, `verify`, `events`.

    A subclass declares its class data and takes each declared field as a keyword argument of
    `__init__` (plus `store_id`, and `client`, the shared `httpx.AsyncClient`, when `uses_http`).
    """

    platform: ClassVar[str]
    """The platform's id: its `/webhooks/<platform>` route, `[platforms.<platform>]` section and secrets owner."""
    display_name: ClassVar[str]
    secret_fields: ClassVar[tuple[SecretField, ...]] = ()
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    """Read from `[platforms.<platform>]` of the settings file."""
    uses_http: ClassVar[bool] = False
    """Whether the trigger calls the platform's API (it then takes the shared client as `client`)."""

    def __init__(self, *, store_id: str) -> None:
        if not store_id:
            raise ConfigurationError(f"{self.display_name} trigger: store_id is missing")
        self.store_id = store_id

    @classmethod
    def create(
        cls,
        http: httpx.AsyncClient,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str | None],
        *,
        store_id: str,
    ) -> Self:
        """Build from `[platforms.<platform>]` and the keyring; a missing required field fails here, by name."""
        where = {"label": cls.platform, "owner": cls.platform, "section": f"platforms.{cls.platform}"}
        values: dict[str, Any] = declared(require_fields(secrets, cls.secret_fields, **where), cls.secret_fields)
        values |= declared(require_fields(settings, cls.setting_fields, **where), cls.setting_fields)
        if cls.uses_http:
            values["client"] = http
        return cls(store_id=store_id, **values)

    def require(self, **values: str | None) -> None:
        """Fail at construction, naming the first of `values` (credentials the trigger cannot work without) unset."""
        secrets = {f.name for f in self.secret_fields}
        for name, value in values.items():
            if not value:
                where = (
                    f"Store it with `receiptdesk secrets set {self.platform} {name}`."
                    if name in secrets
                    else f"Set it in [platforms.{self.platform}] of the settings file."
                )
                raise ConfigurationError(f"{self.display_name} trigger: {name} is missing. {where}")

    @abstractmethod
    def verify(self, request: InboundRequest) -> None:
        """Raise `SignatureRejected` unless the request is signed by the platform and fresh."""

    @abstractmethod
    async def events(self, request: InboundRequest) -> Sequence[PlatformEvent]:
        """The verified request as sales and order updates (may fetch the order from the platform's API).

        Raises `ValidationFailed` for a payload that cannot be mapped, `NotApplicable` for one that
        asks for nothing.
        """


def declared(source: Mapping[str, Any], fields: tuple[SecretField | SettingField, ...]) -> dict[str, str]:
    """The declared fields that `source` sets (neither None nor blank), as text."""
    return {name: str(value) for name, value in fields_set(source, fields).items()}


__all__ = ["NotApplicable", "PlatformTrigger", "declared"]
