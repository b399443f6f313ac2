"""A receipt e-mail as it was sent: its snapshot plus the address's unsubscribe line, rebuilt from its headers."""

from __future__ import annotations

from collections.abc import Mapping

from app.rendering.unsubscribe import place_footer


def as_sent(html: str | None, text: str | None, headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`html` and `text` of a snapshot with the unsubscribe line its `List-Unsubscribe` header names."""
    targets = [part.strip().strip("<>") for part in headers["List-Unsubscribe"].split(",")]
    mailto = next(t for t in targets if t.startswith("mailto:"))
    link = next((t for t in targets if t.startswith("https://") or t.startswith("http://")), None)
    address = mailto.removeprefix("mailto:").split("?", 1)[0]
    return place_footer(html, text, link=link, address=address, mailto=mailto)
