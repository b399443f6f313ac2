"""A printed receipt, described independently of any printer.

A `PrintDocument` is an ordered tuple of blocks: styled lines of text, rules, a barcode or a QR code,
an image (the store's logo), paper feed and a cut. Layout (`app.rendering.print_receipt`) builds one;
an encoder for a printer language (`app.devices.escpos`) turns it into bytes. `columns` is the width
the text was laid out for (48 on 80 mm paper with font A, 32 on 58 mm); no line of text is longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class Paper(IntEnum):
    """Roll width in millimetres."""

    MM80 = 80
    MM58 = 58

    @property
    def columns(self) -> int:
        """Characters per line in the printer's standard font (font A, 12x24 dots)."""
        return 48 if self is Paper.MM80 else 32

    @property
    def dots(self) -> int:
        """Printable width in dots on a 203 dpi head: 72 mm of an 80 mm roll, 48 mm of a 58 mm roll."""
        return 576 if self is Paper.MM80 else 384

    def dots_at(self, dpi: int) -> int:
        """Printable width in dots on a head of `dpi`: 203 (most), or 180 (Epson's TM-T88 line: 512 dots
        on 80 mm, 360 on 58 mm, per its technical reference; docs/printing.md)."""
        if dpi == 180:
            return 512 if self is Paper.MM80 else 360
        return self.dots


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text. Double width halves how many characters fit on the line."""

    text: str
    bold: bool = False
    double_height: bool = False
    double_width: bool = False
    align: Align = Align.LEFT


@dataclass(frozen=True, slots=True)
class Rule:
    """A horizontal line across the paper, drawn with `char`."""

    char: str = "-"


class SaleCode(StrEnum):
    """How the sale id is printed for scanning at the service desk."""

    BARCODE = "barcode"  # CODE128
    QR = "qr"
    BOTH = "both"
    NONE = "none"


class BarcodeKind(StrEnum):
    CODE128 = "code128"


@dataclass(frozen=True, slots=True)
class Barcode:
    """A one-dimensional barcode, centred, with its digits printed underneath (HRI).

    `module_width` is chosen by the layout so the symbol fits the paper (`app.domain.code128`)."""

    data: str
    kind: BarcodeKind = BarcodeKind.CODE128
    height: int = 80  # dots
    module_width: int = 2  # dots per narrowest bar
    show_text: bool = True


class QrErrorCorrection(StrEnum):
    L = "L"
    M = "M"
    Q = "Q"
    H = "H"


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR code (model 2), centred. `size` is the module size in dots (1-16)."""

    data: str
    size: int = 6
    error_correction: QrErrorCorrection = QrErrorCorrection.M


@dataclass(frozen=True, slots=True)
class Raster:
    """A black-and-white image, centred (the store's logo): `height` rows of `width_bytes` bytes each, the
    leftmost dot in the high bit, a set bit printed. At most the paper's dots wide (`Paper.dots_at`)."""

    width_bytes: int
    height: int
    data: bytes

    def __post_init__(self) -> None:
        if self.width_bytes < 1 or self.height < 1 or len(self.data) != self.width_bytes * self.height:
            raise ValueError("a raster needs width_bytes x height bytes of data")


@dataclass(frozen=True, slots=True)
class Feed:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True, slots=True)
class Cut:
    """Feed `feed` lines past the cutter, then cut (partially: a tab holds the receipt)."""

    feed: int = 3
    partial: bool = True


Block = TextLine | Rule | Barcode | QrCode | Raster | Feed | Cut


@dataclass(frozen=True, slots=True)
class PrintDocument:
    """What to print, top to bottom, laid out for `columns` characters per line."""

    blocks: tuple[Block, ...]
    columns: int = 48

    def text_lines(self) -> tuple[TextLine, ...]:
        return tuple(b for b in self.blocks if isinstance(b, TextLine))

    def plain_text(self) -> str:
        """A text preview of the document, as it reads on paper (codes shown as their data)."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, TextLine):
                room = self.columns // 2 if block.double_width else self.columns
                if block.align is Align.CENTER:
                    out.append(block.text.center(room).rstrip())
                elif block.align is Align.RIGHT:
                    out.append(block.text.rjust(room))
                else:
                    out.append(block.text)
            elif isinstance(block, Rule):
                out.append(block.char * self.columns)
            elif isinstance(block, Barcode):
                out.append(f"[{block.kind.value} {block.data}]".center(self.columns).rstrip())
            elif isinstance(block, QrCode):
                out.append(f"[QR {block.data}]".center(self.columns).rstrip())
            elif isinstance(block, Raster):
                out.append(f"[image {block.width_bytes * 8}x{block.height}]".center(self.columns).rstrip())
            elif isinstance(block, Feed):
                out.extend([""] * block.lines)
        return "\n".join(out) + "\n"
