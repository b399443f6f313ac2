"""ESC/POS: a `PrintDocument` as the bytes an Epson-compatible receipt printer understands.

Pure functions, no I/O. The command set is Epson's ESC/POS as implemented by TM-series printers
and their clones (Star in ESC/POS mode, Bixolon, Xprinter, Rongta):

- `ESC @` initialise; `ESC t n` character code table; `ESC E n` bold; `GS ! n` character size;
  `ESC a n` justification; `ESC d n` feed n lines; `GS V 66 n` feed and partial cut
  (`GS V 65 n` full cut).
- `GS k 73 n {B...{C...` CODE128, code set B for text and C for digit pairs, with `GS h` height,
  `GS w` module width (2-6 dots), `GS H` digits below; `GS ( k` QR code model 2 (functions 165
  model, 167 size, 169 error correction, 180 store, 181 print).
- `DLE EOT n` real-time status (n = 1 printer, 2 off-line cause, 4 roll paper sensor).

Code page: text is sent in PC858 (`ESC t 19`), which is PC850 with the euro sign. Unlike PC437 it
holds every Spanish letter, upper case too (á é í ó ú ñ ü Á É Í Ó Ú Ñ Ü ¿ ¡). A character it lacks
is replaced by a close ASCII form (`•` → `*`, `—` → `-`, curly quotes → straight), else by its
base letter without accents, else by `?`: a receipt never fails to print over one character.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from app.domain.code128 import MAX_MODULE_DOTS, MIN_MODULE_DOTS, CodeSet, encodable, plan
from app.domain.printdoc import (
    Align,
    Barcode,
    Cut,
    Feed,
    PrintDocument,
    QrCode,
    QrErrorCorrection,
    Raster,
    Rule,
    TextLine,
)

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INIT = ESC + b"@"
CODE_PAGE = "cp858"
CODE_PAGE_NUMBER = 19  # ESC t 19: PC858 (Euro) on Epson TM printers
SELECT_CODE_PAGE = ESC + b"t" + bytes([CODE_PAGE_NUMBER])
LINE_DOTS = 30  # default line spacing (1/6 inch) in vertical motion units of 1/180 inch

_ALIGN = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}
_QR_EC = {QrErrorCorrection.L: 48, QrErrorCorrection.M: 49, QrErrorCorrection.Q: 50, QrErrorCorrection.H: 51}
_FALLBACK = {
    "\u2022": "*",  # bullet (masked card digits)
    "\u00b7": ".",
    "\u2014": "-",
    "\u2013": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00a0": " ",
}


def encode_text(text: str) -> bytes:
    """`text` in the printer's code page, every character it lacks replaced (never an error)."""
    try:
        return text.encode(CODE_PAGE)
    except UnicodeEncodeError:
        return b"".join(_encode_char(c) for c in text)


def _encode_char(char: str) -> bytes:
    try:
        return char.encode(CODE_PAGE)
    except UnicodeEncodeError:
        pass
    if char in _FALLBACK:
        return _FALLBACK[char].encode(CODE_PAGE)
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base.encode(CODE_PAGE, errors="replace") if base else b"?"


def bold(on: bool) -> bytes:
    return ESC + b"E" + bytes([1 if on else 0])


def size(*, double_width: bool = False, double_height: bool = False) -> bytes:
    return GS + b"!" + bytes([(0x10 if double_width else 0) | (0x01 if double_height else 0)])


def align(where: Align) -> bytes:
    return ESC + b"a" + bytes([_ALIGN[where]])


def feed(lines: int) -> bytes:
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut(*, feed_lines: int = 3, partial: bool = True) -> bytes:
    """Feed past the cutter, then cut (`GS V` function B)."""
    return GS + b"V" + bytes([66 if partial else 65, max(0, min(255, feed_lines * LINE_DOTS))])


def code128_payload(data: str) -> bytes:
    """The data of `GS k 73`: each code set segment opened by `{B` or `{C`; in C a byte per digit pair
    (0-99), in B the characters with `{` doubled (the printer reads `{x` as a code set or function)."""
    out = bytearray()
    for segment in plan(data).segments:
        if segment.code_set is CodeSet.C:
            pairs = segment.text
            out.extend(b"{C" + bytes(int(pairs[i : i + 2]) for i in range(0, len(pairs), 2)))
        else:
            out.extend(b"{B" + segment.text.replace("{", "{{").encode("ascii"))
    return bytes(out)


def code128(data: str, *, height: int = 80, module_width: int = 2, show_text: bool = True) -> bytes:
    """CODE128 in code sets B and C (the shorter for each run, `app.domain.code128`), centred by the caller."""
    payload = code128_payload(data) if encodable(data) else b""
    if not payload or len(payload) > 255:
        raise ValueError("CODE128 takes printable ASCII characters, at most 255 bytes of them once encoded")
    return b"".join(
        (
            GS + b"h" + bytes([max(1, min(255, height))]),  # bar height in dots
            GS + b"w" + bytes([max(MIN_MODULE_DOTS, min(MAX_MODULE_DOTS, module_width))]),  # narrowest bar
            GS + b"H" + bytes([2 if show_text else 0]),  # human-readable digits below
            GS + b"k" + bytes([73, len(payload)]) + payload,  # function B, m = 73: CODE128
        )
    )


def _qr_function(fn: int, body: bytes) -> bytes:
    length = len(body) + 2
    return GS + b"(k" + bytes([length % 256, length // 256, 49, fn]) + body


def qr(data: str, *, module_size: int = 6, error_correction: QrErrorCorrection = QrErrorCorrection.M) -> bytes:
    """A QR code, model 2: select model, module size, error correction, store the data, print it."""
    payload = data.encode("utf-8")
    if not payload or len(payload) > 7089:
        raise ValueError("a QR code holds 1 to 7089 bytes")
    return (
        _qr_function(65, bytes([50, 0]))  # fn 165: model 2
        + _qr_function(67, bytes([max(1, min(16, module_size))]))  # fn 167: module size
        + _qr_function(69, bytes([_QR_EC[error_correction]]))  # fn 169: error correction level
        + _qr_function(80, b"0" + payload)  # fn 180: store in the symbol area
        + _qr_function(81, b"0")  # fn 181: print the stored symbol
    )


@dataclass(slots=True)
class _Style:
    bold: bool = False
    double_width: bool = False
    double_height: bool = False
    align: Align = Align.LEFT


def raster(image: Raster) -> bytes:
    """`GS v 0 m xL xH yL yH d1...dk`, m = 0 (normal size): a raster bit image of `xL + xH*256` bytes a row
    and `yL + yH*256` rows, MSB the leftmost dot, 1 printed (Epson ESC/POS reference, GS v 0:
    https://download4.epson.biz/sec_pubs/pos/reference_en/escpos/gs_lv_0.html). Centred by ESC a."""
    x, y = image.width_bytes, image.height
    return GS + b"v0" + bytes([0, x % 256, x // 256, y % 256, y // 256]) + image.data


def encode(document: PrintDocument) -> bytes:
    """The whole document as ESC/POS bytes, starting with initialise and code page selection.

    A style command is sent only when the style changes, so plain rows cost their text and a LF.
    """
    out = bytearray(INIT + SELECT_CODE_PAGE)
    state = _Style()

    def set_style(want: _Style) -> None:
        if want.align is not state.align:
            out.extend(align(want.align))
            state.align = want.align
        if want.bold != state.bold:
            out.extend(bold(want.bold))
            state.bold = want.bold
        if (want.double_width, want.double_height) != (state.double_width, state.double_height):
            out.extend(size(double_width=want.double_width, double_height=want.double_height))
            state.double_width, state.double_height = want.double_width, want.double_height

    for block in document.blocks:
        if isinstance(block, TextLine):
            set_style(_Style(block.bold, block.double_width, block.double_height, block.align))
            out.extend(encode_text(block.text) + LF)
        elif isinstance(block, Rule):
            set_style(_Style())
            out.extend(encode_text(block.char * document.columns) + LF)
        elif isinstance(block, Barcode):
            set_style(_Style(align=Align.CENTER))
            out.extend(
                code128(block.data, height=block.height, module_width=block.module_width, show_text=block.show_text)
            )
            out.extend(LF)
        elif isinstance(block, QrCode):
            set_style(_Style(align=Align.CENTER))
            out.extend(qr(block.data, module_size=block.size, error_correction=block.error_correction))
            out.extend(LF)
        elif isinstance(block, Raster):
            set_style(_Style(align=Align.CENTER))
            out.extend(raster(block))
        elif isinstance(block, Feed):
            out.extend(feed(block.lines))
        elif isinstance(block, Cut):
            set_style(_Style())
            out.extend(cut(feed_lines=block.feed, partial=block.partial))
    return bytes(out)


# Real-time status (DLE EOT n). Every reply byte has bit 1 and bit 4 set, bits 0 and 7 clear.
STATUS_PRINTER = 1
STATUS_OFFLINE_CAUSE = 2
STATUS_PAPER = 4
STATUS_QUERIES = (STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER)
STATUS_OK = 0x12  # a reply with no condition flagged


def status_query(n: int) -> bytes:
    return DLE + EOT + bytes([n])


def valid_status_byte(value: int) -> bool:
    return value & 0x93 == 0x12


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer reported about itself."""

    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False

    @property
    def problem(self) -> str | None:
        """Why it cannot print, in words for the cashier; None when it can."""
        if self.cover_open:
            return "The receipt printer's cover is open: close it."
        if self.paper_out:
            return "The receipt printer is out of paper: load a new roll."
        if self.error:
            return "The receipt printer reports an error: switch it off and on again."
        if self.offline:
            return "The receipt printer is off-line: check it is switched on and ready."
        return None


def parse_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """Decode the replies to DLE EOT 1, 2 and 4."""
    return PrinterStatus(
        offline=bool(printer & 0x08),
        cover_open=bool(offline_cause & 0x04),
        paper_out=bool(offline_cause & 0x20) or bool(paper & 0x60),
        paper_near_end=bool(paper & 0x0C),
        error=bool(offline_cause & 0x40),
    )
