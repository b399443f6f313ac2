"""Mailgun's inbound route forward: an e-mail to the store's unsubscribe mailbox, posted to us as a form.

A route with `forward("https://<public_url>/webhooks/mailgun/inbound")` makes Mailgun POST each
matching e-mail, parsed, as `application/x-www-form-urlencoded`, or `multipart/form-data` when it
has attachments (https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http).
The fields used here: `recipient` (the SMTP RCPT TO), `subject`, `body-plain`, and the signature fields
`timestamp`, `token`, `signature`, checked exactly as webhook events are, with the HTTP webhook signing
key (`app.providers.mailgun_events.verify`; docs: .../user-manual/webhooks/securing-webhooks).
Attachments are never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.providers.mailgun_events import verify

PATH = "/webhooks/mailgun/inbound"
_KEPT = frozenset({"recipient", "subject", "body-plain", "stripped-text", "timestamp", "token", "signature"})


@dataclass(frozen=True, slots=True)
class InboundMail:
    """The parts of a forwarded e-mail an unsubscribe needs, and Mailgun's token (one per post: a repeat)."""

    recipient: str
    subject: str
    body: str
    token: str


def fields_of(content_type: str, raw: bytes) -> dict[str, str]:
    """The text fields a forward carries (first of each name); empty for a body of neither form type."""
    found: dict[str, str] = {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        for name, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
            if name in _KEPT:
                found.setdefault(name, value)
        return found
    if not content_type.startswith("multipart/form-data"):
        return found
    envelope = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + raw
    )
    if not envelope.is_multipart():
        return found
    for part in envelope.iter_parts():
        param = part.get_param("name", header="content-disposition")
        if not isinstance(param, str) or param not in _KEPT or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.setdefault(param, data.decode(part.get_content_charset() or "utf-8", "replace"))
    return found


def read(request: InboundRequest, signing_key: str | None) -> InboundMail:
    """The verified forward; `SignatureRejected` when it is not provably Mailgun's (or no key is set)."""
    fields = fields_of(request.header("content-type") or "", request.body)
    block = {name: fields.get(name, "") for name in ("timestamp", "token", "signature")}
    if not signing_key or not verify(signing_key, {"signature": block}, now=request.received_at.timestamp()):
        raise SignatureRejected("The Mailgun inbound signature did not verify.")
    body = fields.get("stripped-text") or fields.get("body-plain") or ""
    return InboundMail(fields.get("recipient", ""), fields.get("subject", ""), body[:2000], block["token"])
