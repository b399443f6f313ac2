"""Receipts sent with a store's own provider template: what an adapter that can do it offers.

A store that keeps its receipt design at SendGrid, Postmark or Mandrill sets `template_id` under
`[providers.<id>]`. Such an adapter sends a receipt as a template send when the message carries the
receipt's data (`provider_extra[RECEIPT_DATA]`, the shape of `docs/receipt-data.schema.json`), and
says which refusals are the template's fault, so the dispatcher can fall back to our own rendering.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from app.domain.errors import PermanentProviderError
from app.domain.message import OutboundMessage

RECEIPT_DATA = "receipt_data"
"""The `OutboundMessage.provider_extra` key holding the receipt's data for a store template."""


@runtime_checkable
class ReceiptTemplates(Protocol):
    """An adapter that can send a receipt with the store's own template."""

    def receipt_template(self, message: OutboundMessage) -> str | None:
        """The store template `message` will be sent with, or None when it goes with our own rendering."""
        ...

    def template_refused(self, error: PermanentProviderError) -> bool:
        """Whether `error`, the answer to a template send, refuses the template itself (not the key, the
        account or the recipient), so that the same receipt in our own rendering may be accepted."""
        ...


def template_of(adapter: object, message: OutboundMessage) -> str | None:
    """The store template `adapter` sends `message` with, or None (our own rendering)."""
    return adapter.receipt_template(message) if isinstance(adapter, ReceiptTemplates) else None
