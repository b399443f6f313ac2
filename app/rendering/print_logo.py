"""The store's logo for the paper receipt: a PNG made a black-and-white raster as wide as fits the paper.

Printed with ESC/POS `GS v 0` (`app.devices.escpos.raster`). The PNG is decoded by the standard-library
reader in `app.support.png`, scaled down (never up) by averaging each dot's share of the picture, and
each dot printed where that average is darker than mid-grey. An SVG logo shows in e-mail only: drawing
vectors needs a renderer this layer does not have.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.domain.printdoc import Paper, Raster
from app.support.png import PngError, decode_grey

log = logging.getLogger(__name__)

MAX_HEIGHT_DOTS = 160
"""The tallest the logo prints: 20 mm on a 203 dpi head, about two lines of double-height text."""
WIDTH_SHARE = 0.6
"""The widest the logo prints, as a share of the paper's printable width."""
THRESHOLD = 128
MAX_PIXELS = 1200 * 500
"""Larger logos are refused for print: reading one is pure Python, done once at start-up, and must stay quick."""


def logo_raster(png: bytes, max_width: int, max_height: int = MAX_HEIGHT_DOTS) -> Raster:
    """`png` as a raster at most `max_width` x `max_height` dots, its shape kept. `PngError` when unreadable."""
    width, height, grey = decode_grey(png, max_pixels=MAX_PIXELS)
    scale = min(1.0, max_width / width, max_height / height)
    out_w, out_h = max(1, int(width * scale)), max(1, int(height * scale))
    width_bytes = (out_w + 7) // 8
    data = bytearray(width_bytes * out_h)
    for ty in range(out_h):
        y0, y1 = ty * height // out_h, max(ty * height // out_h + 1, (ty + 1) * height // out_h)
        for tx in range(out_w):
            x0, x1 = tx * width // out_w, max(tx * width // out_w + 1, (tx + 1) * width // out_w)
            total = sum(sum(grey[y * width + x0 : y * width + x1]) for y in range(y0, y1))
            if total < THRESHOLD * (x1 - x0) * (y1 - y0):
                data[ty * width_bytes + tx // 8] |= 0x80 >> (tx % 8)
    return Raster(width_bytes, out_h, bytes(data))


def printed_logo(setting: str | None, paper: Paper, dpi: int) -> Raster | None:
    """The `[store] logo` for `paper` on a head of `dpi`, or None: unset, an SVG, or unreadable (logged)."""
    if not setting or not setting.strip():
        return None
    path = Path(setting.strip()).expanduser()
    if path.suffix.lower() != ".png":
        log.info("The store logo %s is not a PNG; paper receipts print without it.", path)
        return None
    try:
        return logo_raster(path.read_bytes(), int(paper.dots_at(dpi) * WIDTH_SHARE))
    except (OSError, PngError) as exc:
        log.warning("The store logo %s cannot be printed (%s); paper receipts print without it.", path, exc)
        return None
