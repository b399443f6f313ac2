"""A rendered receipt: immutable once made, identified by the hash of its content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.domain.channels import Language


@dataclass(frozen=True, slots=True)
class SmsText:
    body: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


@dataclass(frozen=True, slots=True)
class RenderedReceipt:
    """Every form of one receipt, exactly as sent."""

    language: Language
    subject: str
    html: str
    text: str
    sms: SmsText
    template_version: str
    template_data: str | None = None
    """The receipt as data for a store's own provider template: canonical JSON of the shape in
    `docs/receipt-data.schema.json`. Stored with the receipt, so every send and resend of it uses the
    same snapshot; not part of `content_hash` (it is derived from the same sale as every form)."""

    @property
    def content_hash(self) -> str:
        """SHA-256 over every rendered form; a resend proves it sent the same bytes."""
        digest = hashlib.sha256()
        for part in (self.language.value, self.subject, self.html, self.text, self.sms.body):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StoreProfile:
    """What the receipt says about the store (from `[store]` in the settings; the demo has its own)."""

    name: str
    address: str
    phone: str
    website: str | None = None
    footer: str = ""
    preferences_url: str | None = None
