"""Images an e-mail receipt shows inline: the return barcode and the store's logo.

Many mail apps block `data:` images, so each image travels as an inline attachment with a Content-ID
and the HTML shows it with `<img src="cid:...">` (RFC 2392). The rendered HTML wraps each `<img>` in
`<!--inline:ID-->` ... `<!--/inline-->`: at send time `place_images` keeps a block whose image goes
with the message and removes the rest, so a provider that carries no attachments (or a receipt whose
logo is no longer configured) never shows a broken image; the code's text stays either way.

The barcode is CODE128 of `RD-<sale id>`, the code the paper receipt prints, drawn from
`app.domain.code128` (the plan) and `app.domain.code128_bars` (the bars) into a PNG written with
the standard library (`app.support.png`): no imaging library needed.
"""

from __future__ import annotations

import functools
import logging
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.domain.code128 import encodable, plan
from app.domain.code128_bars import modules
from app.domain.errors import ConfigurationError
from app.domain.message import Attachment
from app.support.png import SIGNATURE, bars_png

log = logging.getLogger(__name__)

RETURN_CODE_ID = "return-code.png"
"""Content-ID (and file name) of the return barcode."""
LOGO_IDS = {".png": "store-logo.png", ".svg": "store-logo.svg"}
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
MAX_LOGO_BYTES = 512 * 1024
"""A logo rides on every e-mail receipt; half a megabyte is already generous."""
LOGO_BOX = (240, 80)
"""The largest the logo is shown in the e-mail, in CSS pixels (width, height); its shape is kept."""
BARCODE_MAX_PX = 480
"""The widest the barcode image is drawn (the e-mail's content column is 552 px)."""
BARCODE_HEIGHT_PX = 64

_BLOCK = re.compile(r"<!--inline:([A-Za-z0-9._-]+)-->.*?<!--/inline-->", re.DOTALL)


@dataclass(frozen=True, slots=True)
class InlineImage:
    """One image and the size the HTML shows it at."""

    attachment: Attachment
    width: int
    height: int

    @property
    def cid(self) -> str:
        return self.attachment.content_id or self.attachment.filename


@dataclass(frozen=True, slots=True)
class ImageSlot:
    """Where an inline image goes in the HTML: its Content-ID and the size it is shown at."""

    cid: str
    width: int
    height: int


def return_code_slot(code: str) -> ImageSlot | None:
    """The return barcode's place in the HTML (its size, without drawing it); None when CODE128 cannot write it."""
    if not encodable(code):
        return None
    total = plan(code).modules
    return ImageSlot(RETURN_CODE_ID, total * _module_px(total), BARCODE_HEIGHT_PX)


@functools.lru_cache(maxsize=256)
def return_code_image(code: str) -> InlineImage | None:
    """`code` (e.g. `RD-S-1001`) as a CODE128 PNG; None when CODE128 cannot write it.

    Drawn once per code while it is among the last few hundred asked for: a receipt's retries, a resend,
    and every other e-mail of the same sale take the image already drawn (it is immutable)."""
    if not encodable(code):
        return None
    bars = modules(plan(code))
    module_px = _module_px(len(bars))
    png = bars_png(bars, module_px=module_px, height_px=BARCODE_HEIGHT_PX)
    attachment = Attachment(RETURN_CODE_ID, "image/png", png, content_id=RETURN_CODE_ID)
    return InlineImage(attachment, len(bars) * module_px, BARCODE_HEIGHT_PX)


def _module_px(modules_wide: int) -> int:
    return max(1, min(3, BARCODE_MAX_PX // modules_wide))


def load_logo(path: Path) -> InlineImage:
    """The store's logo file (PNG or SVG) fit into `LOGO_BOX`; `ConfigurationError` in one line otherwise."""
    kind = path.suffix.lower()
    where = f"The store logo {path}"
    if kind not in LOGO_TYPES:
        raise ConfigurationError(f"{where} must be a .png or .svg file ([store] logo).")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{where} cannot be read ({exc.strerror}); fix [store] logo.") from None
    if len(content) > MAX_LOGO_BYTES:
        raise ConfigurationError(f"{where} is larger than {MAX_LOGO_BYTES // 1024} KB; use a smaller file.")
    size = _png_size(content) if kind == ".png" else _svg_size(content)
    if size is None:
        raise ConfigurationError(f"{where} is not a readable {kind[1:].upper()} image.")
    width, height = _fit(*size)
    cid = LOGO_IDS[kind]
    return InlineImage(Attachment(cid, LOGO_TYPES[kind], content, content_id=cid), width, height)


def store_logo(setting: str | None) -> InlineImage | None:
    """The `[store] logo` file, or None when it is unset or unusable (said once in the log, with what to fix:
    a receipt without the logo is better than no receipt)."""
    if not setting or not setting.strip():
        return None
    try:
        return load_logo(Path(setting.strip()).expanduser())
    except ConfigurationError as exc:
        log.warning("%s Receipts are sent without it until it is fixed.", exc)
        return None


def place_images(html: str, images: Mapping[str, Attachment], *, carry: bool) -> tuple[str, tuple[Attachment, ...]]:
    """The HTML to send and the inline attachments it needs.

    Each `<!--inline:ID-->` block stays when `carry` (the provider carries attachments) and `images`
    holds ID; otherwise the block is removed."""
    used: dict[str, Attachment] = {}

    def keep_or_drop(match: re.Match[str]) -> str:
        cid = match.group(1)
        if carry and cid in images:
            used[cid] = images[cid]
            return match.group(0)
        return ""

    return _BLOCK.sub(keep_or_drop, html), tuple(used.values())


def without_inline_images(html: str) -> str:
    """`html` with every inline-image block removed: for a view that has no attachments (a preview)."""
    return _BLOCK.sub("", html)


def _png_size(content: bytes) -> tuple[int, int] | None:
    # The IHDR chunk comes first: width and height, 4 bytes each (PNG specification § 11.2.1).
    if not content.startswith(SIGNATURE) or content[12:16] != b"IHDR" or len(content) < 24:
        return None
    width, height = struct.unpack(">II", content[16:24])
    return (width, height) if width and height else None


_SVG_LENGTH = r'\s{name}\s*=\s*["\']\s*([0-9.]+)\s*(?:px)?\s*["\']'


def _svg_size(content: bytes) -> tuple[int, int] | None:
    """The `width`/`height` of the root `<svg>` element, else its `viewBox`; None for anything else."""
    text = content[:4096].decode("utf-8", errors="replace")
    root = re.search(r"<svg\b[^>]*>", text)
    if root is None:
        return None
    tag = root.group(0)
    width = re.search(_SVG_LENGTH.format(name="width"), tag)
    height = re.search(_SVG_LENGTH.format(name="height"), tag)
    try:
        if width and height:
            return _positive(float(width.group(1)), float(height.group(1)))
        box = re.search(r'\sviewBox\s*=\s*["\']([^"\']+)["\']', tag)
        if box:
            parts = [float(p) for p in box.group(1).replace(",", " ").split()]
            return _positive(parts[2], parts[3]) if len(parts) == 4 else None
    except ValueError:
        return None
    return None


def _positive(width: float, height: float) -> tuple[int, int] | None:
    return (max(1, round(width)), max(1, round(height))) if width > 0 and height > 0 else None


def _fit(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, LOGO_BOX[0] / width, LOGO_BOX[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))
