"""What every provider's status callbacks are: verify the raw request, then parse it into events.

One module per provider (`app/providers/<provider_id>_events.py`, or `twilio_callbacks.py`), one
`StatusCallbacks` subclass in it; `app.providers.callback_registry` finds them, and the wiring,
the routes under `/webhooks/<provider_id>/events` and the tracking service are derived from that
registry. A subclass declares as class data what setting it up needs (`secret_fields` from the
keyring, `setting_fields` from `[providers.<provider_id>]`), where it is also reachable (`paths`)
and how it is answered (`reply_with_counts`); it takes those fields as keyword arguments.

Like a trigger, it never touches the database: it checks the signature (constant-time) and
translates the provider's payload into the closed vocabulary of `StatusEvent`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from app.domain.inbound import InboundRequest
from app.domain.plugins import SecretField, SettingField, require_fields
from app.domain.tracking import StatusEvent


class StatusCallbacks(ABC):
    """One provider's delivery-status callbacks, set up with its verifying secret."""

    provider_id: ClassVar[str]
    display_name: ClassVar[str]
    summary: ClassVar[str]
    """One line for the published API: what the provider posts and how it is authenticated."""
    secret_fields: ClassVar[tuple[SecretField, ...]] = ()
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    paths: ClassVar[tuple[str, ...]] = ()
    """Documented paths that also take these callbacks, besides `/webhooks/<provider_id>/events`."""
    reply_with_counts: ClassVar[bool] = False
    """Answer 200 with the counts recorded (what SendGrid's Event Webhook gets) instead of a bare 204."""

    @classmethod
    def create(cls, settings: Mapping[str, Any], secrets: Mapping[str, str | None]) -> Self:
        """Build from the provider's settings section and its secrets; a missing required field fails by name.

        The caller treats that `ConfigurationError` as "not set up": the endpoint then refuses everything.
        """
        where = {
            "label": f"{cls.display_name} callbacks",
            "owner": cls.provider_id,
            "section": f"providers.{cls.provider_id}",
        }
        values = require_fields(secrets, cls.secret_fields, **where)
        values |= require_fields(settings, cls.setting_fields, **where)
        return cls(**{name: str(value) for name, value in values.items()})

    @classmethod
    def event_path(cls) -> str:
        """The path every provider's callbacks are taken at: `/webhooks/<provider_id>/events`."""
        return f"/webhooks/{cls.provider_id}/events"

    @abstractmethod
    def verify(self, request: InboundRequest) -> None:
        """Raise `SignatureRejected` unless the request provably comes from the provider (and is fresh)."""

    @abstractmethod
    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        """The verified request as events; raises `ValueError` (or `ValidationFailed`) for a malformed body."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"  # the fields are secrets, or keys nobody needs in a log
