"""A minimal PNG writer (standard library only): one black-and-white image, for barcodes.

An 8-bit greyscale PNG (colour type 0) of rows of pixels, each row prefixed by filter type 0 and
the whole compressed with zlib, between the signature, an IHDR, one IDAT and an IEND chunk, each
chunk with its CRC-32 (PNG specification, 3rd edition, https://www.w3.org/TR/png-3/ § 5 and § 11).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BLACK, WHITE = 0, 255


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def greyscale_png(rows: Sequence[bytes], width: int) -> bytes:
    """A PNG of `rows`, each `width` bytes of grey levels (0 black, 255 white)."""
    if not rows or width < 1 or any(len(row) != width for row in rows):
        raise ValueError("every row must hold `width` pixels, and there must be at least one row")
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def bars_png(bars: Sequence[bool], *, module_px: int, height_px: int) -> bytes:
    """A one-dimensional barcode: each module `module_px` pixels wide, black where True, `height_px` tall."""
    if module_px < 1 or height_px < 1:
        raise ValueError("module_px and height_px must be at least 1")
    row = b"".join(bytes([BLACK if bar else WHITE]) * module_px for bar in bars)
    return greyscale_png([row] * height_px, len(row))
