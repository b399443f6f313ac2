"""Text-in on the customer screen: the QR code painted module by module reads back as the `sms:` link
(zxing-cpp, an independent reader, and segno's own matrix), the choice screen shows it only when the
store offers a code, the customer's text sends the receipt and ends their turn, in their language."""

from __future__ import annotations

import pytest
import segno
import zxingcpp
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app.ui.widgets.qr import QUIET_ZONE, QrCode

LINK = "sms:+15125550100?&body=RD%20K7Q2XM"


class _Pixels:
    """8-bit grey pixels handed to zxing-cpp through the array interface (no numpy needed)."""

    def __init__(self, image: QImage) -> None:
        grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
        width, height = grey.width(), grey.height()
        line = grey.bytesPerLine()
        data = bytes(grey.constBits())
        rows = b"".join(data[y * line : y * line + width] for y in range(height))
        self.__array_interface__ = {"shape": (height, width), "typestr": "|u1", "data": rows, "version": 3}


def read_qr(image: QImage) -> list[str]:
    """What a phone camera would read off `image`."""
    return [r.text for r in zxingcpp.read_barcodes(_Pixels(image)) if r.format == zxingcpp.BarcodeFormat.QRCode]


def painted_grid(code: QrCode) -> list[list[bool]]:
    """The modules as painted (True: dark), quiet zone included, sampled at each module's centre."""
    image = code.grab().toImage()
    ratio = image.devicePixelRatio()
    area = code.symbol_rect()
    total = len(code.modules) + 2 * QUIET_ZONE
    step = area.width() * ratio / total
    return [
        [
            image.pixelColor(int(area.x() * ratio + (x + 0.5) * step), int(area.y() * ratio + (y + 0.5) * step)).value()
            < 128
            for x in range(total)
        ]
        for y in range(total)
    ]


@pytest.mark.parametrize("side", [164, 246, 301])
def test_the_painted_code_reads_back_as_the_link_module_for_module(qtbot: QtBot, side: int) -> None:
    code = QrCode()
    qtbot.addWidget(code)
    code.set_text(LINK)
    code.resize(side, side)
    code.show()
    assert read_qr(code.grab().toImage()) == [LINK]
    expected = segno.make(LINK, error="m", micro=False)
    assert painted_grid(code) == [[bool(m) for m in row] for row in expected.matrix_iter(border=QUIET_ZONE)]
    area = code.symbol_rect()
    total = len(code.modules) + 2 * QUIET_ZONE
    assert area.width() == area.height() and area.width() % total == 0  # whole pixels a module: crisp
    assert area.width() // total >= 4 and code.rect().contains(area)


def test_no_text_paints_no_code(qtbot: QtBot) -> None:
    code = QrCode()
    qtbot.addWidget(code)
    code.set_text(LINK)
    size = code.sizeHint()
    code.set_text(None)
    assert code.modules == () and code.symbol_rect().isEmpty()
    assert code.sizeHint() == size  # the room stays whatever the code: nothing around it moves
