"""Text from outside, made safe to keep, print and show.

Every piece of text a sale carries ends up on a screen, on paper (ESC/POS, where a control byte is a
printer command), in an SMS and in HTML. So at the edge:

- control characters are refused, naming the field: C0 (U+0000-U+001F), DEL (U+007F), C1
  (U+0080-U+009F), and the line and paragraph separators U+2028/U+2029. A multi-line field (a
  promotion's text) allows line feeds; a CR LF pair there is read as one line feed. A tab is refused
  everywhere: no receipt layout has a use for one.
- an unpaired surrogate (U+D800-U+DFFF alone, which JSON can smuggle in as `\\ud800`) is refused: it
  is not text and cannot be stored or encoded.
- bidirectional controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, U+200E and
  U+200F marks, U+061C) are removed from names and free text: they can make "Ana" read as another
  name, or reorder an amount on a screen, and a receipt never needs them.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
"""Characters that change the display order of text around them; removed from names and free text."""

_LINE_SEPARATORS = frozenset("\u2028\u2029")
_STRIP_BIDI = {ord(char): None for char in BIDI_CONTROLS}


class UnsafeText(ValueError):
    """Text holding a character it may not hold; the message names the character, never the text."""

    def __init__(self, message: str, code_point: str) -> None:
        super().__init__(message)
        self.code_point = code_point


def code_point(char: str) -> str:
    """`U+0000`: how a refused character is named."""
    return f"U+{ord(char):04X}"


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of `text` that no field may hold (see the module), or None."""
    for char in text:
        number = ord(char)
        if number < 0x20 or 0x7F <= number <= 0x9F or char in _LINE_SEPARATORS or 0xD800 <= number <= 0xDFFF:
            if multiline and char == "\n":
                continue
            return char
    return None


def check_text(text: str, *, multiline: bool = False) -> str:
    """`text` unchanged, or `UnsafeText` naming the first control character or lone surrogate in it.

    In a multi-line field a CR LF pair is read as one line feed first.
    """
    if multiline:
        text = text.replace("\r\n", "\n")
    char = refused_character(text, multiline=multiline)
    if char is not None:
        point = code_point(char)
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise UnsafeText(f"contains an unpaired surrogate ({point}); send UTF-8 text", point)
        lines = "" if multiline else "; it is a single line"
        raise UnsafeText(f"contains a control character ({point}){lines}", point)
    return text


def strip_bidi(text: str) -> str:
    """`text` without bidirectional controls."""
    return text.translate(_STRIP_BIDI) if any(char in BIDI_CONTROLS for char in text) else text


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Free text or a name as kept: controls and lone surrogates refused (`UnsafeText`), bidi controls removed."""
    return strip_bidi(check_text(text, multiline=multiline))


def printable(text: str) -> str:
    """`text` fit for a device or a screen whatever it holds: every control character but a line feed
    and every bidi control dropped, a lone surrogate replaced by U+FFFD."""
    out = []
    for char in text:
        number = ord(char)
        if char == "\n":
            out.append(char)
        elif number < 0x20 or 0x7F <= number <= 0x9F or char in _LINE_SEPARATORS or char in BIDI_CONTROLS:
            continue
        elif 0xD800 <= number <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)
