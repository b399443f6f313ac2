"""The store's logo on the paper receipt: a PNG read by the standard-library reader, made a raster no wider
than the paper, and printed with ESC/POS `GS v 0`, on 80 and 58 mm paper."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from app.demo.wiring import DEMO_PROFILE
from app.devices.escpos import encode
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.printdoc import Paper, Raster, SaleCode
from app.rendering.print_logo import WIDTH_SHARE, logo_raster, printed_logo
from app.rendering.print_receipt import print_receipt
from app.sandbox.pos import make_sale
from app.support.png import PngError, decode_grey


def drawing(width: int = 90, height: int = 30) -> QImage:
    """White, a black left half, a mid-grey stripe and a transparent corner: every kind of pixel."""
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(0, 0, width // 2, height, QColor("black"))
    painter.fillRect(width // 2, 0, 10, height, QColor(200, 30, 30))
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.fillRect(width - 8, 0, 8, 8, QColor(0, 0, 0, 0))
    painter.end()
    return image


def png_of(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    return bytes(data.data())


FORMATS = [
    QImage.Format.Format_ARGB32,
    QImage.Format.Format_RGB32,
    QImage.Format.Format_Grayscale8,
    QImage.Format.Format_Indexed8,
    QImage.Format.Format_Mono,
    QImage.Format.Format_Grayscale16,
    QImage.Format.Format_RGBA64,
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_the_png_reader_sees_what_qt_drew(fmt: QImage.Format) -> None:
    source = drawing().convertToFormat(fmt, Qt.ImageConversionFlag.ThresholdDither)
    width, height, grey = decode_grey(png_of(source))
    assert (width, height) == (source.width(), source.height())
    flat = source.convertToFormat(QImage.Format.Format_ARGB32)
    for x, y in [(0, 0), (10, 20), (44, 5), (46, 10), (60, 15), (89, 0), (85, 3), (89, 29)]:
        pixel = flat.pixelColor(x, y)
        luma = (299 * pixel.red() + 587 * pixel.green() + 114 * pixel.blue()) // 1000  # ITU-R BT.601, as printed
        expected = (luma * pixel.alpha() + 255 * (255 - pixel.alpha())) // 255
        assert abs(grey[y * width + x] - expected) <= 3, (fmt, x, y, grey[y * width + x], expected)


@pytest.mark.parametrize("content", [b"GIF89a", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_what_is_not_a_png_is_refused(content: bytes) -> None:
    with pytest.raises(PngError):
        decode_grey(content)


def test_a_huge_logo_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(PngError, match="3000x3000"):
        decode_grey(png_of(QImage(3000, 3000, QImage.Format.Format_Mono)), max_pixels=1200 * 500)


def dots(raster: Raster, x: int, y: int) -> bool:
    return bool(raster.data[y * raster.width_bytes + x // 8] & (0x80 >> (x % 8)))


def test_the_raster_keeps_the_picture_and_its_shape() -> None:
    raster = logo_raster(png_of(drawing(400, 100)), max_width=200)
    assert (raster.width_bytes, raster.height) == (25, 50)
    assert dots(raster, 10, 10) and dots(raster, 90, 40)  # the black half
    assert not dots(raster, 150, 25)  # white
    assert not dots(raster, 199, 0)  # the transparent corner prints nothing


@pytest.mark.parametrize("paper", list(Paper))
@pytest.mark.parametrize("language", list(Language))
def test_the_logo_prints_first_within_the_paper(tmp_path: Path, paper: Paper, language: Language) -> None:
    path = tmp_path / "logo.png"
    path.write_bytes(png_of(drawing(700, 175)))
    logo = printed_logo(str(path), paper, 203)
    assert logo is not None and logo.width_bytes * 8 <= paper.dots * WIDTH_SHARE + 8
    sale = parse_sale(make_sale(random.Random(5), sale_id="S-LOGO"))
    doc = print_receipt(sale, DEMO_PROFILE, language, paper=paper, codes=SaleCode.BOTH, logo=logo)
    assert doc.blocks[0] == logo
    assert all(len(line.text) <= paper.columns for line in doc.text_lines())
    command = b"\x1dv0\x00" + bytes([logo.width_bytes, 0, logo.height % 256, logo.height // 256])
    data = encode(doc)
    assert data.index(b"\x1ba\x01" + command) < data.index(DEMO_PROFILE.name.encode())
    assert command + logo.data in data


def test_an_svg_or_unreadable_logo_prints_nothing_and_says_why_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "logo.svg").write_text('<svg width="10" height="10"/>')
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with caplog.at_level(logging.INFO):
        assert printed_logo(None, Paper.MM80, 203) is None
        assert printed_logo(str(tmp_path / "logo.svg"), Paper.MM80, 203) is None
        assert printed_logo(str(tmp_path / "bad.png"), Paper.MM58, 203) is None
        assert printed_logo(str(tmp_path / "gone.png"), Paper.MM58, 203) is None
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 3 and all("print without it" in line for line in said)
