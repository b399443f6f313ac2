"""Which design a receipt's e-mail goes out in: the store's provider template or our own rendering.

A store that keeps its receipt design at SendGrid, Postmark or Mandrill sets `template_id` under
`[providers.<id>]`; the previews (the manager window, `receiptdesk receipts show`) say which one is
used, in the words of `receipt_design`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.domain.channels import Channel
from app.domain.records import TEMPLATE_REFUSED, ReceiptDetail

RECEIPT_TEMPLATE_PROVIDERS = frozenset({"sendgrid", "postmark", "mandrill"})
"""The e-mail providers whose adapters send a receipt with the store's template."""
OWN_DESIGN = "Sent with ReceiptDesk's own design"
FALLBACK_NOTE = "the preview is ReceiptDesk's own design, sent instead if the template is refused"


def template_id(provider: str | None, providers: Mapping[str, Mapping[str, object]]) -> str | None:
    """The store template `provider` sends receipts with, or None (our own rendering)."""
    if provider not in RECEIPT_TEMPLATE_PROVIDERS:
        return None
    value = providers.get(provider or "", {}).get("template_id")
    text = "" if value is None else str(value).strip()
    return text or None


def receipt_design(
    detail: ReceiptDetail,
    *,
    primary: str | None,
    providers: Mapping[str, Mapping[str, object]],
    name: Callable[[str], str] = str,
) -> str:
    """`Sent with SendGrid template d-...` (adding that the preview shows our own design, the fallback),
    or `Sent with ReceiptDesk's own design` (with why, when the provider refused the template). The
    provider is that of the receipt's latest e-mail delivery, else `primary`, the routing's first
    e-mail provider."""
    emails = [d for d in detail.deliveries if d.channel is Channel.EMAIL]
    provider = emails[-1].provider if emails else primary
    template = template_id(provider, providers)
    if provider is None or template is None:
        return OWN_DESIGN
    if emails and any(a.outcome == TEMPLATE_REFUSED for a in detail.attempts.get(emails[-1].id, ())):
        return f"{OWN_DESIGN} ({name(provider)} refused template {template})"
    return f"Sent with {name(provider)} template {template}; {FALLBACK_NOTE}"
