"""A QR code painted module by module: dark on white, square modules at a whole number of device
pixels each, inside its quiet zone, so a phone reads it off any screen at any scaling."""

from __future__ import annotations

import math

import segno
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4
"""Light modules around the symbol on every side: ISO/IEC 18004's quiet zone for QR codes
(https://segno.readthedocs.io/en/latest/api.html, `border`: "the recommended border is 4")."""

DARK = QColor("#000000")
LIGHT = QColor("#ffffff")
"""Black on white whatever the theme: phone readers expect dark modules on a light ground."""

Modules = tuple[tuple[bool, ...], ...]


def qr_modules(text: str) -> Modules:
    """The QR code of `text` as rows of modules (True: dark), quiet zone not included.

    Error correction M (15 % of the symbol may be lost to glare or a smudge); a regular QR code,
    never a Micro QR code, which phone cameras do not read.
    """
    symbol = segno.make(text, error="m", micro=False)
    return tuple(tuple(bool(module) for module in row) for row in symbol.matrix)


class QrCode(QWidget):
    """Shows `set_text`'s QR code at the largest whole scale its size allows; nothing without text.

    Its size asks for `room` modules a side (quiet zone added) at `scale` logical pixels a module, and
    at least at `min_scale`, whatever it encodes: a code arriving, or a longer one, moves nothing
    around it. The default room, 33 modules (version 4), holds an `sms:` link with a short body.
    """

    def __init__(self, parent: QWidget | None = None, *, room: int = 33, min_scale: int = 4, scale: int = 6) -> None:
        super().__init__(parent)
        self._modules: Modules = ()
        self._text: str | None = None
        self._room = room
        self._min_scale = min_scale
        self._scale = scale
        # Its width holds (words beside it wrap first); its height gives way down to `min_scale` on a short screen.
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

    @property
    def text(self) -> str | None:
        """What the code encodes (None: no code)."""
        return self._text

    @property
    def modules(self) -> Modules:
        """The symbol's modules as painted, quiet zone not included."""
        return self._modules

    def set_text(self, text: str | None) -> None:
        """Encode `text` (None: show nothing)."""
        self._text = text
        self._modules = qr_modules(text) if text else ()
        self.update()

    def _side(self, scale: int) -> int:
        """The side in logical pixels of the room at `scale` pixels a module, quiet zone included."""
        return (self._room + 2 * QUIET_ZONE) * scale

    def sizeHint(self) -> QSize:
        return QSize(self._side(self._scale), self._side(self._scale))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._side(self._min_scale), self._side(self._min_scale))

    def symbol_rect(self) -> QRect:
        """Where the code (quiet zone included) is painted, in logical pixels; empty without a code."""
        if not self._modules:
            return QRect()
        ratio = self.devicePixelRatioF()
        total = len(self._modules) + 2 * QUIET_ZONE
        device = max(1, math.floor(min(self.width(), self.height()) * ratio / total)) * total
        side = math.floor(device / ratio)
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._modules:
            return
        ratio = self.devicePixelRatioF()
        count = len(self._modules)
        total = count + 2 * QUIET_ZONE
        scale = max(1, math.floor(min(self.width(), self.height()) * ratio / total))  # device pixels a module
        left = math.floor((self.width() * ratio - total * scale) / 2)
        top = math.floor((self.height() * ratio - total * scale) / 2)
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.scale(1 / ratio, 1 / ratio)  # draw in device pixels: every module edge on a pixel edge
            painter.fillRect(left, top, total * scale, total * scale, LIGHT)
            for y, row in enumerate(self._modules):
                x = 0
                while x < count:  # one rectangle per run of dark modules
                    if not row[x]:
                        x += 1
                        continue
                    start = x
                    while x < count and row[x]:
                        x += 1
                    painter.fillRect(
                        left + (QUIET_ZONE + start) * scale,
                        top + (QUIET_ZONE + y) * scale,
                        (x - start) * scale,
                        scale,
                        DARK,
                    )
        finally:
            painter.end()
