"""Reading an ESC/POS print stream: the text a legacy POS prints, one receipt at a time.

`EscPosStream` is fed the bytes going to the printer in chunks of any size, split anywhere (even
inside a command), and yields `TextLine` at each line feed and `ReceiptComplete` at each cut. The
result never depends on how the stream was split. Commands are skipped with their exact argument
lengths (raster and bit images, graphics, barcodes and QR codes included); an unknown ESC/GS/FS
sequence is skipped as its two prefix bytes, so the text after it is kept. It never raises.

Command lengths: Epson "ESC/POS Command Reference" (TM series), and python-escpos `constants.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT = 0x0A, 0x0D, 0x09

CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
"""ESC t n → Python codec; any other table decodes as the default, code page 437."""

MAX_LINE_CHARS = 1024
"""A line longer than this (no line feed in sight) is cut into pieces: memory stays bounded."""
MAX_RECEIPT_LINES = 2000
"""A receipt with more lines than this completes early; the rest starts the next one."""
MAX_TERMINATED = 1024
"""How far to look for the end of a NUL-terminated or self-describing command before giving up."""

# Commands with a fixed total length (prefix byte and function byte included).
_ESC_FIXED: dict[int, int] = {
    0x40: 2,  # ESC @ initialise
    0x21: 3,  # ESC ! print mode
    0x45: 3,  # ESC E emphasised
    0x47: 3,  # ESC G double strike
    0x2D: 3,  # ESC - underline
    0x61: 3,  # ESC a justification
    0x64: 3,  # ESC d print and feed n lines
    0x65: 3,  # ESC e reverse feed
    0x4A: 3,  # ESC J print and feed n dots
    0x4B: 3,  # ESC K reverse feed dots
    0x74: 3,  # ESC t code table
    0x4D: 3,  # ESC M font
    0x52: 3,  # ESC R international set
    0x56: 3,  # ESC V 90-degree rotation
    0x7B: 3,  # ESC { upside down
    0x32: 2,  # ESC 2 default line spacing
    0x33: 3,  # ESC 3 line spacing
    0x20: 3,  # ESC SP right-side spacing
    0x24: 4,  # ESC $ absolute position
    0x5C: 4,  # ESC \ relative position
    0x72: 3,  # ESC r colour
    0x25: 3,  # ESC % user-defined set
    0x3F: 3,  # ESC ? cancel user-defined character
    0x3D: 3,  # ESC = peripheral device
    0x55: 3,  # ESC U unidirectional
    0x54: 3,  # ESC T page-mode direction
    0x4C: 2,  # ESC L page mode
    0x53: 2,  # ESC S standard mode
    0x0C: 2,  # ESC FF print page
    0x57: 10,  # ESC W print area in page mode
    0x3C: 2,  # ESC < return home
    0x75: 3,  # ESC u peripheral status
    0x76: 2,  # ESC v paper sensor status
    0x70: 5,  # ESC p drawer kick
    0x69: 2,  # ESC i partial cut
    0x6D: 2,  # ESC m partial cut (three points left)
}
_ESC_CUTS = {0x69, 0x6D}

_GS_FIXED: dict[int, int] = {
    0x21: 3,  # GS ! character size
    0x42: 3,  # GS B reverse
    0x62: 3,  # GS b smoothing
    0x68: 3,  # GS h barcode height
    0x77: 3,  # GS w barcode width
    0x48: 3,  # GS H HRI position
    0x66: 3,  # GS f HRI font
    0x4C: 4,  # GS L left margin
    0x57: 4,  # GS W print area width
    0x24: 4,  # GS $ vertical position
    0x5C: 4,  # GS \ relative vertical position
    0x50: 4,  # GS P motion units
    0x61: 3,  # GS a automatic status back
    0x49: 3,  # GS I printer id
    0x72: 3,  # GS r status
    0x2F: 3,  # GS / print downloaded bit image
    0x3A: 2,  # GS : macro definition
    0x5E: 5,  # GS ^ execute macro
    0x54: 3,  # GS T print position to line start
    0x0C: 2,  # GS FF
    0x44: 2,  # GS D (followed by a counted payload; treated as a bare prefix)
}

_FS_FIXED: dict[int, int] = {
    0x26: 2,  # FS & Kanji mode
    0x2E: 2,  # FS . cancel Kanji mode
    0x21: 3,  # FS ! Kanji print mode
    0x2D: 3,  # FS - Kanji underline
    0x43: 3,  # FS C Kanji code system
    0x57: 3,  # FS W Kanji quadruple size
    0x70: 4,  # FS p print NV bit image
    0x53: 4,  # FS S Kanji spacing
}


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line feed; `text` is what was printed on the line (may be empty)."""

    text: str


@dataclass(frozen=True, slots=True)
class ReceiptComplete:
    """The paper was cut: `lines` is everything printed since the previous cut."""

    lines: tuple[str, ...]


StreamEvent = TextLine | ReceiptComplete


@dataclass(frozen=True, slots=True)
class _Step:
    """A command measured: `size` bytes to drop now, then `skip` payload bytes as they come."""

    size: int
    skip: int = 0
    cut: bool = False
    feed: bool = False
    code_page: int | None = None
    reset: bool = False


_NEED_MORE = None


class EscPosStream:
    """An incremental ESC/POS reader; `feed(chunk)` returns the events the chunk completed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0
        self._codec = "cp437"
        self._text: list[str] = []
        self._text_len = 0
        self._lines: list[str] = []

    def reset(self) -> None:
        """Forget everything buffered (a new connection, a new print job)."""
        self._buf = bytearray()
        self._skip = 0
        self._codec = "cp437"
        self._text = []
        self._text_len = 0
        self._lines = []

    @property
    def pending_lines(self) -> tuple[str, ...]:
        """Lines printed since the last cut (not yet a complete receipt)."""
        return tuple(self._lines)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Consume `chunk`; never raises on any input."""
        events: list[StreamEvent] = []
        try:
            self._buf += chunk
            self._run(events)
        except Exception:  # a parser bug must not stop the capture; drop what confused it
            log.exception("print stream parser failed; %d buffered bytes dropped", len(self._buf))
            self._buf.clear()
            self._skip = 0
        return events

    # -- the loop ----------------------------------------------------------------------------

    def _run(self, events: list[StreamEvent]) -> None:
        buf = self._buf
        pos = 0
        end = len(buf)
        while pos < end:
            if self._skip:
                taken = min(self._skip, end - pos)
                self._skip -= taken
                pos += taken
                continue
            byte = buf[pos]
            if byte >= 0x20:
                stop = pos + 1
                while stop < end and buf[stop] >= 0x20:
                    stop += 1
                self._add_text(bytes(buf[pos:stop]).decode(self._codec, errors="replace"), events)
                pos = stop
                continue
            if byte == LF:
                self._end_line(events)
                pos += 1
                continue
            if byte == HT:
                self._add_text(" ", events)
                pos += 1
                continue
            if byte in (ESC, GS, FS, DLE):
                step = _measure(buf, pos, end)
                if step is _NEED_MORE:
                    break
                pos += step.size
                self._skip = step.skip
                self._apply(step, events)
                continue
            pos += 1  # CR, NUL and other control bytes print nothing
        del buf[:pos]

    def _apply(self, step: _Step, events: list[StreamEvent]) -> None:
        if step.reset:
            self._codec = "cp437"
        if step.code_page is not None:
            self._codec = CODE_PAGES.get(step.code_page, "cp437")
        if step.feed and self._text:
            self._end_line(events)
        if step.cut:
            if self._text:
                self._end_line(events)
            if self._lines:
                events.append(ReceiptComplete(tuple(self._lines)))
            self._lines = []

    def _add_text(self, text: str, events: list[StreamEvent]) -> None:
        while text:
            room = MAX_LINE_CHARS - self._text_len
            self._text.append(text[:room])
            self._text_len += len(text[:room])
            text = text[room:]
            if self._text_len >= MAX_LINE_CHARS:
                self._end_line(events)

    def _end_line(self, events: list[StreamEvent]) -> None:
        line = "".join(self._text).rstrip()
        self._text = []
        self._text_len = 0
        events.append(TextLine(line))
        self._lines.append(line)
        if len(self._lines) >= MAX_RECEIPT_LINES:
            events.append(ReceiptComplete(tuple(self._lines)))
            self._lines = []


def _u16(buf: bytearray, at: int) -> int:
    return buf[at] | (buf[at + 1] << 8)


def _measure(buf: bytearray, pos: int, end: int) -> _Step | None:
    """The command starting at `pos`, or None when more bytes are needed to know its length."""
    if end - pos < 2:
        return _NEED_MORE
    prefix, fn = buf[pos], buf[pos + 1]
    avail = end - pos
    if prefix == ESC:
        return _measure_esc(buf, pos, avail, fn)
    if prefix == GS:
        return _measure_gs(buf, pos, avail, fn)
    if prefix == FS:
        if fn == 0x28:  # FS ( x pL pH ...
            return _counted(buf, pos, avail, header=5, at=3)
        return _Step(_FS_FIXED.get(fn, 2)) if avail >= _FS_FIXED.get(fn, 2) else _NEED_MORE
    # DLE
    if fn in (0x04, 0x05):  # DLE EOT n, DLE ENQ n: real-time status / request
        return _Step(3) if avail >= 3 else _NEED_MORE
    if fn == 0x14:  # DLE DC4 fn ...
        if avail < 3:
            return _NEED_MORE
        size = 10 if buf[pos + 2] == 8 else 5
        return _Step(size) if avail >= size else _NEED_MORE
    return _Step(1)  # a lone DLE prints nothing; the next byte is read afresh


def _counted(buf: bytearray, pos: int, avail: int, *, header: int, at: int, width: int = 2) -> _Step | None:
    """A command whose header ends in a little-endian payload length at offset `at`."""
    if avail < header:
        return _NEED_MORE
    length = 0
    for i in range(width):
        length |= buf[pos + at + i] << (8 * i)
    return _Step(header, skip=length)


def _terminated(buf: bytearray, pos: int, avail: int, start: int, fallback: int) -> _Step | None:
    """A command ending with a NUL byte at or after offset `start`."""
    limit = min(avail, MAX_TERMINATED)
    index = buf.find(0, pos + start, pos + limit)
    if index >= 0:
        return _Step(index - pos + 1)
    if avail >= MAX_TERMINATED:
        return _Step(fallback)  # no terminator in reach: not what it seemed
    return _NEED_MORE


def _measure_esc(buf: bytearray, pos: int, avail: int, fn: int) -> _Step | None:
    if fn == 0x2A:  # ESC * m nL nH d1..dk: bit image, 1 or 3 bytes per column
        if avail < 5:
            return _NEED_MORE
        columns = _u16(buf, pos + 3)
        return _Step(5, skip=columns * (1 if buf[pos + 2] in (0, 1) else 3))
    if fn == 0x26:  # ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
        return _user_defined(buf, pos, avail)
    if fn == 0x44:  # ESC D n1..nk NUL: tab positions
        return _terminated(buf, pos, avail, 2, 2)
    if fn == 0x63:  # ESC c 3 n / ESC c 4 n / ESC c 5 n / ESC c 0 n / ESC c 1 n
        return _Step(4) if avail >= 4 else _NEED_MORE
    if fn == 0x28:  # ESC ( x pL pH ...
        return _counted(buf, pos, avail, header=5, at=3)
    size = _ESC_FIXED.get(fn, 2)
    if avail < size:
        return _NEED_MORE
    arg = buf[pos + 2] if size >= 3 else 0
    return _Step(
        size,
        cut=fn in _ESC_CUTS,
        feed=fn in (0x64, 0x4A),
        code_page=arg if fn == 0x74 else None,
        reset=fn == 0x40,
    )


def _user_defined(buf: bytearray, pos: int, avail: int) -> _Step | None:
    if avail < 5:
        return _NEED_MORE
    y, first, last = buf[pos + 2], buf[pos + 3], buf[pos + 4]
    if not (32 <= first <= last <= 126) or y > 3:
        return _Step(2)
    at = pos + 5
    for _ in range(last - first + 1):
        if at >= pos + avail:
            return _NEED_MORE if avail < MAX_TERMINATED * 8 else _Step(2)
        at += 1 + y * buf[at]
    return _Step(at - pos) if at <= pos + avail else _NEED_MORE


def _measure_gs(buf: bytearray, pos: int, avail: int, fn: int) -> _Step | None:
    if fn == 0x56:  # GS V m [n]: cut
        if avail < 3:
            return _NEED_MORE
        size = 4 if buf[pos + 2] in (65, 66, 97, 98, 103, 104) else 3
        return _Step(size, cut=True) if avail >= size else _NEED_MORE
    if fn == 0x6B:  # GS k m ...: barcode
        if avail < 3:
            return _NEED_MORE
        m = buf[pos + 2]
        if m <= 6:  # form 1: data ends with NUL
            return _terminated(buf, pos, avail, 3, 3)
        if avail < 4:
            return _NEED_MORE
        return _Step(4, skip=buf[pos + 3])  # form 2: GS k m n d1..dn
    if fn == 0x28:  # GS ( x pL pH ...: QR (k), graphics (L), and the other extended functions
        return _counted(buf, pos, avail, header=5, at=3)
    if fn == 0x38:  # GS 8 x p1 p2 p3 p4 ...: graphics with a 32-bit length
        return _counted(buf, pos, avail, header=7, at=3, width=4)
    if fn in (0x76, 0x51):  # GS v 0 m xL xH yL yH d1..dk / GS Q 0 ...: raster image
        if avail < 8:
            return _NEED_MORE
        return _Step(8, skip=_u16(buf, pos + 4) * _u16(buf, pos + 6))
    if fn == 0x2A:  # GS * x y d1..d(x*y*8): define downloaded bit image
        if avail < 4:
            return _NEED_MORE
        return _Step(4, skip=buf[pos + 2] * buf[pos + 3] * 8)
    size = _GS_FIXED.get(fn, 2)
    return _Step(size) if avail >= size else _NEED_MORE
