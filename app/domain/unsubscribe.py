"""How a receipt e-mail says "stop sending me these": the `List-Unsubscribe` headers and the token in them.

Every receipt and order-update e-mail names one token per address (random, kept in `unsubscribe_links`
and reused for every later e-mail to that address). The headers (RFC 2369 § 3.2, RFC 8058 § 3.1):

- `List-Unsubscribe: <mailto:...>` always, and `<https://.../unsubscribe/TOKEN>` first when the API
  has a public URL; then also `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, which tells a
  mail app it may POST that URL itself (the one-click button of Gmail, Yahoo and Apple Mail).
- The mailto is plus-addressed: `mailto:unsubscribe+TOKEN@store.example?subject=unsubscribe`. The token
  rides in the address, not only in the subject, because RFC 2369's `subject` is a hint a mail app may
  drop or let the person edit, and because the footer can then name one address a person can type.
  Mailgun routes match it with a pattern (`match_recipient`) and Postmark hands the part after `+` back
  as `MailboxHash`. The subject carries the token too, for a mailbox that strips the `+` part.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

TOKEN_BYTES = 18
"""24 URL-safe characters: 144 random bits, beyond guessing, short enough for a mail address's local part."""
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_IN_ADDRESS = re.compile(r"\+([A-Za-z0-9_-]{16,64})@")
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{24})(?![A-Za-z0-9_-])")
ONE_CLICK = "List-Unsubscribe=One-Click"
"""The body (and `List-Unsubscribe-Post` value) of an RFC 8058 one-click unsubscribe."""
SUBJECT_WORD = "unsubscribe"


def new_token() -> str:
    """A fresh random token (`secrets`, URL- and address-safe: letters, digits, `-` and `_`)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def normalise_address(address: str) -> str:
    """The form an address is kept and looked up in: trimmed and lower-cased."""
    return address.strip().lower()


@dataclass(frozen=True, slots=True)
class UnsubscribeRoute:
    """Where a receipt e-mail's unsubscribe leads: the mailbox of the mailto (always) and the API's public URL."""

    mailbox: str
    public_url: str | None = None

    def address(self, token: str) -> str:
        """The plus-addressed mailbox for `token`: `local+TOKEN@domain`."""
        local, _, domain = self.mailbox.strip().rpartition("@")
        local = local.split("+", 1)[0]
        return f"{local}+{token}@{domain}"

    def mailto(self, token: str) -> str:
        subject = quote(f"{SUBJECT_WORD} {token}", safe="")
        return f"mailto:{self.address(token)}?subject={subject}"

    def link(self, token: str) -> str | None:
        """The one-click HTTPS URL, when the API has a public URL."""
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    def headers(self, token: str) -> dict[str, str]:
        """`List-Unsubscribe` (the HTTPS URL first, as in RFC 8058 § 3.1), and `List-Unsubscribe-Post` with a URL."""
        link = self.link(token)
        targets = ([f"<{link}>"] if link else []) + [f"<{self.mailto(token)}>"]
        found = {"List-Unsubscribe": ", ".join(targets)}
        if link:
            found["List-Unsubscribe-Post"] = ONE_CLICK
        return found


def token_in(*places: str | None) -> str | None:
    """The token in an inbound unsubscribe e-mail: in a plus-addressed recipient first, else a 24-character
    word of the subject or body (a mail app that kept the subject `unsubscribe TOKEN`)."""
    for place in places:
        if place:
            found = _IN_ADDRESS.search(place)
            if found:
                return found.group(1)
    for place in places:
        if place:
            found = _IN_TEXT.search(place)
            if found:
                return found.group(1)
    return None
