"""What every platform trigger is: verify the raw request, then translate it into trigger events.

A trigger never touches the database or the outbox. It checks the signature over the raw bytes with
a constant-time compare, refuses replays outside the platform's tolerance, and maps the platform's
payload to the canonical `Sale` (via `app.domain.intake.parse_sale`, so card numbers and totals are
checked exactly as for the POS) inside a `TriggerEvent` carrying the platform's own event id and
order id. Checkout does the rest (dedupe, one receipt per sale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

from app.domain.errors import ReceiptDeskError, SignatureRejected, ValidationFailed
from app.domain.events import PlatformEvent
from app.domain.inbound import InboundRequest


class NotApplicable(ReceiptDeskError):
    """A genuine event that asks for no receipt (e.g. an order update that is not paid yet)."""


class Trigger(Protocol):
    """One module per platform: `app/triggers/<platform>.py`, a class named `<Platform>Trigger`."""

    platform: ClassVar[str]

    def verify(self, request: InboundRequest) -> None:
        """Raise `SignatureRejected` unless the request is signed by the platform and fresh."""
        ...

    async def events(self, request: InboundRequest) -> Sequence[PlatformEvent]:
        """The verified request as sales and order updates (may fetch the order from the platform's API).

        Raises `ValidationFailed` for a payload that cannot be mapped, `NotApplicable` for one that
        asks for nothing.
        """
        ...


__all__ = ["InboundRequest", "NotApplicable", "SignatureRejected", "Trigger", "ValidationFailed"]
