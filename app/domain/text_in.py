"""A receipt by texting in: the short sale code, the link a QR code carries, and the words shown beside it.

The customer screen shows a QR code that opens the phone's messaging app addressed to the store's
number with `RD <code>` as the body; the customer sends it, and the receipt comes back to that
number. No phone number is typed on a shared screen.

A code is six characters from an alphabet without look-alikes (no 0/O, 1/I/L), drawn with
`secrets`: 30 bits, valid 15 minutes, used once. The words the customer screen shows beside it
(`consent_wording`) are the ones the consent ledger records when the text arrives: one place, both
sides.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from app.domain.channels import Language

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""No 0, O, 1, I or L: nothing a customer reading the screen can take for another character."""
LENGTH = 6
PREFIX = "RD"
VALID_FOR = timedelta(minutes=15)
WORDING_VERSION = "text-in-1"

_PREFIXED = re.compile(rf"{PREFIX}([{ALPHABET}]{{{LENGTH}}})")
_BARE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")

_WORDING = {
    Language.EN: (
        "Scan to get your receipt by text. Sending {body} to {number} asks {store} to text this receipt "
        "to the number you send it from: one message, no marketing. Message and data rates may apply. "
        "Reply STOP to stop or HELP for help. Replied STOP to us before? Text START first."
    ),
    Language.ES: (
        "Escanee para recibir su recibo por mensaje de texto. Al enviar {body} al {number} usted pide a "
        "{store} que le envíe este recibo al número desde el que escribe: un mensaje, sin publicidad. "
        "Pueden aplicarse tarifas de mensajes y datos. Responda STOP para dejar de recibirlos o HELP para "
        "obtener ayuda. ¿Nos respondió STOP antes? Envíe START primero."
    ),
}


def new_code() -> str:
    """A fresh random code (the caller makes sure no live code has it)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def body_for(code: str) -> str:
    """What the customer texts: `RD K7Q2XM`."""
    return f"{PREFIX} {code}"


def sms_uri(number: str, body: str) -> str:
    """The link that opens the messaging app addressed to `number` with `body` typed in.

    RFC 5724 §2.2 writes `sms:<number>?body=<text>`, which Android's messaging apps read; iOS 8 and
    later read `&body=` after the number (stackoverflow.com/questions/6480462). `?&body=` satisfies
    both: Android sees a query whose first field is empty, iOS finds `&body=`.
    """
    return f"sms:{number}?&body={quote(body, safe='')}"


@dataclass(frozen=True, slots=True)
class CodeInText:
    """A code found in a text; `prefixed` when it came as `RD <code>` (surely meant as a code)."""

    code: str
    prefixed: bool


def code_in(body: str) -> CodeInText | None:
    """The code a text holds: `RD K7Q2XM`, `rd k7q2xm.`, `RDK7Q2XM` or a bare `K7Q2XM`; None otherwise.

    A bare six-letter word ("THANKS") also looks like a code: the caller treats a bare one as a code
    only when such a code was ever issued.
    """
    squeezed = "".join(ch for ch in compact(body) if not ch.isspace())
    found = _PREFIXED.fullmatch(squeezed)
    if found is not None:
        return CodeInText(found.group(1), prefixed=True)
    if _BARE.fullmatch(squeezed):
        return CodeInText(squeezed, prefixed=False)
    return None


def compact(body: str) -> str:
    """`body` upper-cased without the spaces and punctuation around it (`" Stop! "` -> `STOP`)."""
    text = body.strip()
    start, end = 0, len(text)
    while start < end and _ignorable(text[start]):
        start += 1
    while end > start and _ignorable(text[end - 1]):
        end -= 1
    return text[start:end].upper()


def _ignorable(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith(("P", "S"))


def consent_wording(language: Language | str | None, *, store: str, body: str, number: str) -> str:
    """The words the customer screen shows beside the code, and the ledger records as the consent."""
    try:
        lang = Language(language) if language else Language.EN
    except ValueError:
        lang = Language.EN
    return _WORDING[lang].format(store=store, body=body, number=number)
