"""The sandbox's memory of accepted messages, for inspection by tests, the demo and benchmarks.

Only messages a provider route accepted are recorded (never injected failures or rejected
requests). The store is bounded: it keeps the newest `capacity` records but counts every one.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_CAPACITY = 200_000


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One accepted send, reduced to what a check needs.

    `to` is always a list (one number for Twilio, every `to` address for SendGrid). HTML is
    kept only as its length and SHA-256, to bound memory; text and SMS bodies are kept whole.
    `headers` are the e-mail headers the request set besides From, To, Subject and the MIME structure
    (Message-ID, List-Unsubscribe, ...), as `mime_headers` picks them from a whole message.
    """

    provider: str
    id: str
    to: tuple[str, ...]
    from_: str | None
    subject: str | None = None
    body: str | None = None
    text: str | None = None
    html_length: int | None = None
    html_sha256: str | None = None
    template_id: str | None = None
    template_data: dict[str, Any] | None = None  # what a template send carried for the template to fill in
    media_urls: tuple[str, ...] = ()
    custom_args: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the extra e-mail headers it carried, as named
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @staticmethod
    def digest_html(html: str | None) -> tuple[int | None, str | None]:
        """(length, sha256 hex) of an HTML part, or (None, None) without one."""
        if html is None:
            return None, None
        return len(html), hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with `from` (not `from_`) and an ISO-8601 UTC `received_at`."""
        return {
            "provider": self.provider,
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "to": list(self.to),
            "from": self.from_,
            "subject": self.subject,
            "body": self.body,
            "text": self.text,
            "html_length": self.html_length,
            "html_sha256": self.html_sha256,
            "template_id": self.template_id,
            "template_data": self.template_data,
            "media_urls": list(self.media_urls),
            "custom_args": self.custom_args,
            "idempotency_key": self.idempotency_key,
            "headers": self.headers,
        }


class MessageStore:
    """Bounded, in-order record of accepted messages with per-provider totals."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._records: deque[MessageRecord] = deque(maxlen=capacity)
        self._totals: Counter[str] = Counter()

    def add(self, record: MessageRecord) -> None:
        """Record one accepted message (the oldest record is dropped when full)."""
        self._records.append(record)
        self._totals[record.provider] += 1

    def clear(self) -> None:
        """Forget every record and reset the totals."""
        self._records.clear()
        self._totals.clear()

    def total(self, provider: str | None = None) -> int:
        """Messages accepted since the last clear, including records dropped for capacity."""
        return self._totals[provider] if provider else sum(self._totals.values())

    def retained(self, provider: str | None = None) -> int:
        """Records still held (at most `capacity`)."""
        if provider is None:
            return len(self._records)
        return sum(1 for record in self._records if record.provider == provider)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[MessageRecord]:
        return iter(self._records)

    def messages(self, provider: str | None = None, limit: int | None = None, offset: int = 0) -> list[MessageRecord]:
        """Held records, oldest first, optionally of one provider, paged by `offset`/`limit`."""
        records: Iterator[MessageRecord] = iter(self._records)
        if provider is not None:
            records = (record for record in records if record.provider == provider)
        stop = None if limit is None else offset + limit
        return list(itertools.islice(records, offset, stop))

    def find(self, *, idempotency_key: str) -> list[MessageRecord]:
        """Held records carrying `idempotency_key` (more than one means a duplicate send)."""
        return [record for record in self._records if record.idempotency_key == idempotency_key]


_STRUCTURE = frozenset({"from", "to", "cc", "bcc", "subject", "date", "mime-version", "content-type"})
_STRUCTURE_PREFIX = "content-"


def mime_headers(items: list[tuple[str, str]]) -> dict[str, str]:
    """The headers of a whole MIME message a record keeps (not From/To/Subject/Date or the MIME structure)."""
    return {
        name: str(value)
        for name, value in items
        if name.lower() not in _STRUCTURE and not name.lower().startswith(_STRUCTURE_PREFIX)
    }
