"""The one normalised outbound message every provider adapter translates, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.channels import Channel


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail. With a `content_id` it is an inline image the HTML shows through
    `<img src="cid:{content_id}">` (RFC 2392), not a file the reader opens; `content_id` then equals
    `filename`, because Mailgun and Mandrill name an inline image's Content-ID by its file name."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What to send, independent of any provider.

    `idempotency_key` is stable across every retry of one delivery. `provider_extra` holds
    provider-specific options (e.g. a template id); an adapter ignores keys it does not know and
    puts on the wire only the options that were set. `headers` are extra e-mail headers (e.g.
    `List-Unsubscribe`, RFC 2369 and RFC 8058), in the order they go on the message.
    """

    channel: Channel
    to: str
    idempotency_key: str
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    sms_body: str | None = None
    push_payload: dict[str, Any] | None = None
    attachments: tuple[Attachment, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    provider_extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class SendStatus(StrEnum):
    """What the provider said at send time (closed vocabulary)."""

    ACCEPTED = "accepted"  # taken for delivery (queued/sent at the provider)
    DELIVERED = "delivered"  # already delivered at send time (rare)
    REJECTED = "rejected"  # refused a recipient although the HTTP call succeeded
    UNKNOWN = "unknown"  # a status we do not recognise


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider's answer to one send."""

    provider_message_id: str | None
    status: SendStatus
    raw_status: str | None = None
    detail: str | None = None
