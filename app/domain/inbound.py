"""A webhook or status callback as it arrived, before anyone trusts it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """The URL the sender called, headers (lower-case names), the raw body, and when it arrived."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> list[tuple[str, str]]:
        """The body as `application/x-www-form-urlencoded` pairs, in order, blanks kept."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
