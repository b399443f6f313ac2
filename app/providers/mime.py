"""RFC 5322 messages for adapters that take a whole MIME message (Gmail `raw`), built with `email.message`.

Layout, as `EmailMessage` builds it: text/plain alone; or multipart/alternative (text, then html —
the last part is the preferred one, RFC 2046 § 5.1.4); inside multipart/mixed when there are
attachments; an inline image (`Attachment.content_id`) sits with the html part in multipart/related.
Headers: From, To, Subject (RFC 2047-encoded when not ASCII), Date, a Message-ID
derived from the idempotency key (a retry is recognisably the same message), `X-ReceiptDesk-Key`,
Reply-To only when one is set, and the message's extra `headers` (List-Unsubscribe).
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.errors import HeaderParseError, MessageError
from email.headerregistry import Address
from email.message import EmailMessage

from app.domain.errors import PermanentProviderError
from app.domain.message import Attachment, OutboundMessage

IDEMPOTENCY_HEADER = "X-ReceiptDesk-Key"
"""The header carrying `OutboundMessage.idempotency_key`; the sandbox records it."""

WIRE_POLICY = email.policy.SMTP
"""CRLF line endings, as RFC 5322 § 2.1 requires on the wire."""


def message_id(idempotency_key: str, sender: str) -> str:
    """`<receiptdesk.{hash}@{sender domain}>`: the same for every attempt of one delivery, unique across deliveries.

    Every e-mail adapter puts it in the `Message-ID` header (RFC 5322 § 3.6.4), so a mail client folds a
    second copy of one receipt, and Gmail and Graph find a message by it when an attempt is in doubt.
    The key is hashed, not copied, so any key makes a valid `id-left` (dot-atom-text). `sender` may be
    `Name <address>`; only its domain is used.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    domain = sender.rpartition("@")[2].strip().rstrip(">").strip() or "receiptdesk.invalid"
    return f"<receiptdesk.{digest}@{domain}>"


def build_email(
    message: OutboundMessage,
    *,
    sender: str,
    provider: str,
    sender_name: str | None = None,
    reply_to: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The RFC 5322 message for `message`; malformed addresses or headers raise `PermanentProviderError`."""
    if not message.text and not message.html:
        raise PermanentProviderError(f"{provider}: the message has no text or html body.")
    try:
        mail = EmailMessage(policy=email.policy.default)
        mail["From"] = _address(sender, sender_name)
        mail["To"] = _address(message.to)
        if message.subject:
            mail["Subject"] = message.subject
        if reply_to:
            mail["Reply-To"] = _address(reply_to)
        mail["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
        mail["Message-ID"] = message_id(message.idempotency_key, sender)
        mail[IDEMPOTENCY_HEADER] = message.idempotency_key
        for name, value in message.headers.items():  # e.g. List-Unsubscribe (RFC 2369), -Post (RFC 8058)
            mail[name] = value
        if message.text:
            mail.set_content(message.text)
            if message.html:
                mail.add_alternative(message.html, subtype="html")
        else:
            mail.set_content(message.html or "", subtype="html")
        add_attachments(mail, message.attachments)
    except (ValueError, TypeError, IndexError, HeaderParseError, MessageError) as exc:
        # e.g. a CR/LF in a header value ("Header values may not contain linefeed ...")
        raise PermanentProviderError(f"{provider}: cannot build the e-mail: {exc}") from exc
    return mail


def add_attachments(mail: EmailMessage, attachments: Sequence[Attachment]) -> None:
    """Inline images into a multipart/related with the HTML part (RFC 2387), each with its `Content-ID`
    (RFC 2392: `<img src="cid:x">` shows the part of `Content-ID: <x>`); other files as attachments.
    An inline image with no HTML part to show it is attached like any file."""
    html = mail.get_body(preferencelist=("html",))
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        maintype, subtype = maintype or "application", subtype or "octet-stream"
        if attachment.content_id and isinstance(html, EmailMessage):
            html.add_related(
                attachment.content,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{attachment.content_id}>",
                disposition="inline",
                filename=attachment.filename,
            )
    for attachment in attachments:
        if attachment.content_id and isinstance(html, EmailMessage):
            continue
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )


def to_bytes(mail: EmailMessage) -> bytes:
    """The message as it goes on the wire (CRLF, long header lines folded)."""
    return mail.as_bytes(policy=WIRE_POLICY)


def _address(addr_spec: str, display_name: str | None = None) -> Address:
    address = Address(display_name=display_name or "", addr_spec=addr_spec)
    if not address.username or not address.domain:
        raise ValueError(f"not an e-mail address: {addr_spec!r}")
    return address
