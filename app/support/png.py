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
    return _png(b"".join(b"\x00" + row for row in rows), width, len(rows))


def _png(filtered: bytes, width: int, height: int) -> bytes:
    """The PNG of `height` rows of `width` grey pixels, each row already prefixed by its filter type."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(filtered, 9)) + _chunk(b"IEND", b"")


UP = b"\x02"
"""Filter type 2, Up: each byte is the difference with the byte above (§ 9.2); a repeated row is zeros."""


def bars_png(bars: Sequence[bool], *, module_px: int, height_px: int) -> bytes:
    """A one-dimensional barcode: each module `module_px` pixels wide, black where True, `height_px` tall.

    Every row is the first again: written once, then as rows of zeros under the Up filter, which the
    compressor takes at once (a third of the time of compressing the rows themselves)."""
    if module_px < 1 or height_px < 1:
        raise ValueError("module_px and height_px must be at least 1")
    row = b"".join(bytes([BLACK if bar else WHITE]) * module_px for bar in bars)
    return _png(b"\x00" + row + (UP + bytes(len(row))) * (height_px - 1), len(row), height_px)


class PngError(ValueError):
    """Not a PNG this reader takes (interlaced, damaged, or not a PNG at all)."""


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
"""Samples per pixel of each colour type: grey, RGB, palette index, grey + alpha, RGB + alpha (§ 11.2.1)."""


def decode_grey(content: bytes, *, max_pixels: int | None = None) -> tuple[int, int, bytes]:
    """(width, height, pixels) of a non-interlaced PNG as 8-bit grey, row by row, transparency laid on white.

    Every colour type and bit depth of the specification is read (§ 11.2.1); filters per § 9.
    `PngError` for anything else, and for an image of more than `max_pixels` (checked before decoding)."""
    if not content.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    header, palette, alpha, idat = b"", b"", b"", bytearray()
    at = len(SIGNATURE)
    while at + 8 <= len(content):
        length, kind = struct.unpack(">I4s", content[at : at + 8])
        data = content[at + 8 : at + 8 + length]
        if len(data) != length:
            raise PngError("the file ends inside a chunk")
        if kind == b"IHDR":
            header = data
        elif kind == b"PLTE":
            palette = data
        elif kind == b"tRNS":
            alpha = data
        elif kind == b"IDAT":
            idat.extend(data)
        elif kind == b"IEND":
            break
        at += 12 + length
    if len(header) != 13:
        raise PngError("no image header")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if colour not in _CHANNELS or interlace or not width or not height or depth not in (1, 2, 4, 8, 16):
        raise PngError("an interlaced or unknown kind of PNG")
    if max_pixels is not None and width * height > max_pixels:
        raise PngError(f"{width}x{height} pixels is more than this use takes")
    bits = _CHANNELS[colour] * depth
    stride, step = (width * bits + 7) // 8, max(1, bits // 8)
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise PngError("damaged image data") from exc
    if len(raw) < (stride + 1) * height:
        raise PngError("the image data is short")
    rows = _unfilter(raw, stride, step, height)
    out = bytearray()
    for row in rows:
        out.extend(_grey_row(row, width, depth, colour, palette, alpha))
    return width, height, bytes(out)


def _unfilter(raw: bytes, stride: int, step: int, height: int) -> list[bytes]:
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
            elif kind != 0:
                raise PngError("an unknown row filter")
        rows.append(bytes(line))
        previous = line
    return rows


def _grey_row(row: bytes, width: int, depth: int, colour: int, palette: bytes, alpha: bytes) -> bytes:
    samples = _CHANNELS[colour]
    if depth < 8:  # grey or palette only: pixels packed several to a byte, leftmost in the high bits
        per_byte, mask = 8 // depth, (1 << depth) - 1
        values = [(row[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask for x in range(width)]
        if colour == 3:
            return bytes(_palette_grey(v, palette, alpha) for v in values)
        return bytes(v * 255 // mask for v in values)
    size = depth // 8  # 16-bit samples keep their high byte
    values = list(row[::size]) if size == 2 else list(row)
    out = bytearray()
    for x in range(width):
        pixel = values[x * samples : (x + 1) * samples]
        if colour == 3:
            out.append(_palette_grey(pixel[0], palette, alpha))
            continue
        grey = pixel[0] if colour in (0, 4) else (299 * pixel[0] + 587 * pixel[1] + 114 * pixel[2]) // 1000
        a = pixel[-1] if colour in (4, 6) else 255
        out.append((grey * a + WHITE * (255 - a)) // 255)
    return bytes(out)


def _palette_grey(index: int, palette: bytes, alpha: bytes) -> int:
    if 3 * index + 3 > len(palette):
        raise PngError("a palette index past the palette")
    r, g, b = palette[3 * index : 3 * index + 3]
    a = alpha[index] if index < len(alpha) else 255
    return ((299 * r + 587 * g + 114 * b) // 1000 * a + WHITE * (255 - a)) // 255
