"""The return barcode and the store's logo as inline images of the e-mail receipt.

The barcode PNG is read back by Qt's PNG decoder and its bars by zxing-cpp, an independent CODE128
reader: the image a service desk scans holds `RD-<sale id>`."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PySide6.QtGui import QImage

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel, Language
from app.domain.code128 import plan
from app.domain.errors import ConfigurationError
from app.domain.intake import parse_sale
from app.domain.message import Attachment, OutboundMessage
from app.domain.records import ClaimedDelivery
from app.providers.sendgrid import SendGridAdapter
from app.rendering.inline_images import (
    RETURN_CODE_ID,
    load_logo,
    place_images,
    return_code_image,
    return_code_slot,
)
from app.rendering.receipts import ReceiptRenderer
from app.sandbox.pos import make_sale
from app.services.attempts import with_inline_images
from app.support.png import bars_png
from tests.providers.test_sfmc import make as make_sfmc

OFFLINE = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(599)))


class _Pixels:
    """8-bit grey pixels handed to zxing-cpp through the array interface (no numpy needed)."""

    def __init__(self, image: QImage) -> None:
        grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
        width, height = grey.width(), grey.height()
        line = grey.bytesPerLine()
        data = bytes(grey.constBits())
        rows = b"".join(data[y * line : y * line + width] for y in range(height))
        self.__array_interface__ = {"shape": (height, width), "typestr": "|u1", "data": rows, "version": 3}


def decode(png: bytes) -> list[str]:
    image = QImage.fromData(png, "PNG")
    assert not image.isNull()
    return [(r.text) for r in zxingcpp.read_barcodes(_Pixels(image)) if r.format == zxingcpp.BarcodeFormat.Code128]


@pytest.mark.parametrize(
    "code", ["RD-S-1001", "RD-0042-20261128-000123", "RD-A", "RD-pos/lane:3#77", "RD-12345678901234567890"]
)
def test_the_return_barcode_png_scans_as_the_sale_code(code: str) -> None:
    image = return_code_image(code)
    assert image is not None
    assert image.attachment.content_type == "image/png" and image.cid == RETURN_CODE_ID
    decoded = QImage.fromData(image.attachment.content, "PNG")
    assert (decoded.width(), decoded.height()) == (image.width, image.height)
    assert image.width == plan(code).modules * (image.width // plan(code).modules) <= 480
    assert decode(image.attachment.content) == [code]
    assert return_code_image(code) is image  # drawn once: a retry or a resend of the receipt takes this one


def test_a_code_code128_cannot_write_has_no_image() -> None:
    assert return_code_image("RD-café") is None


def test_bars_png_refuses_an_empty_image() -> None:
    with pytest.raises(ValueError, match="at least"):
        bars_png([True, False], module_px=0, height_px=10)


HTML = (
    'a<!--inline:return-code.png--><img src="cid:return-code.png"><!--/inline-->'
    'b<!--inline:store-logo.png--><img src="cid:store-logo.png"><!--/inline-->c'
)
CODE = Attachment("return-code.png", "image/png", b"png", content_id="return-code.png")


def test_place_images_keeps_what_goes_with_the_message_and_drops_the_rest() -> None:
    html, attached = place_images(HTML, {"return-code.png": CODE}, carry=True)
    assert attached == (CODE,)
    assert 'src="cid:return-code.png"' in html and "store-logo" not in html and html.endswith("bc")
    html, attached = place_images(HTML, {"return-code.png": CODE}, carry=False)
    assert (html, attached) == ("abc", ())


def _png(width: int, height: int) -> bytes:
    return bars_png([True] * width, module_px=1, height_px=height)


@pytest.mark.parametrize(
    ("name", "content", "shown"),
    [
        ("logo.png", _png(480, 80), (240, 40)),
        ("logo.png", _png(100, 50), (100, 50)),
        (
            "logo.svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 200"></svg>',
            (240, 80),
        ),
        ("LOGO.SVG", b'<svg width="120px" height="40" xmlns="http://www.w3.org/2000/svg"/>', (120, 40)),
    ],
)
def test_a_logo_is_read_and_fit_into_its_box(tmp_path: Path, name: str, content: bytes, shown: tuple[int, int]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    logo = load_logo(path)
    assert (logo.width, logo.height) == shown
    assert logo.attachment.content == content and logo.cid.startswith("store-logo.")


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("logo.jpg", b"\xff\xd8", "must be a .png or .svg"),
        ("logo.png", b"GIF89a", "not a readable PNG"),
        ("logo.svg", b"<html></html>", "not a readable SVG"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024), "larger than"),
        ("missing.png", None, "cannot be read"),
    ],
)
def test_a_bad_logo_is_one_sentence_naming_the_setting(
    tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=says) as refused:
        load_logo(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("language", list(Language))
def test_the_email_shows_the_logo_and_the_barcode_by_cid_and_the_code_as_text(
    tmp_path: Path, language: Language
) -> None:
    (tmp_path / "logo.png").write_bytes(_png(300, 100))
    renderer = ReceiptRenderer(logo=load_logo(tmp_path / "logo.png"))
    sale = parse_sale(make_sale(random.Random(2), sale_id="S-2002"))
    receipt = renderer.render(sale, DEMO_PROFILE, language)
    assert 'src="cid:store-logo.png" width="240" height="80"' in receipt.html
    assert 'src="cid:return-code.png"' in receipt.html
    words = {Language.EN: "Return code RD-S-2002", Language.ES: "Código de devolución RD-S-2002"}[language]
    assert words in receipt.html and words in receipt.text
    assert "data:" not in receipt.html
    assert "cid:store-logo" not in ReceiptRenderer().render(sale, DEMO_PROFILE, language).html


def claim(html: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        id="d-1",
        receipt_id="r-1",
        sale_id="S-2002",
        channel=Channel.EMAIL,
        provider="sendgrid",
        recipient="ana@example.com",
        attempt=1,
        idempotency_key="k-1",
        created_at=datetime(2026, 11, 28, tzinfo=UTC),
        subject="Your receipt",
        html=html,
        text="Return code RD-S-2002",
        sms_body="",
    )


def test_a_send_attaches_the_barcode_of_its_sale_and_the_logo_when_the_provider_carries_them(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(_png(50, 20))
    logo = load_logo(tmp_path / "logo.png")
    html = (
        ReceiptRenderer(logo=logo)
        .render(parse_sale(make_sale(random.Random(2), sale_id="S-2002")), DEMO_PROFILE, Language.EN)
        .html
    )
    c = claim(html)
    message = OutboundMessage(
        Channel.EMAIL, c.recipient, c.idempotency_key, subject=c.subject, html=c.html, text=c.text
    )
    sendgrid = SendGridAdapter(OFFLINE, api_key="SG.x", from_email="r@example.com")
    sent = with_inline_images(message, c, sendgrid, {logo.cid: logo.attachment})
    assert [a.content_id for a in sent.attachments] == ["store-logo.png", "return-code.png"]
    assert decode(sent.attachments[1].content) == ["RD-S-2002"]
    assert sent.html == html
    plain = with_inline_images(message, c, make_sfmc(OFFLINE), {logo.cid: logo.attachment})
    assert (
        plain.attachments == () and "cid:" not in (plain.html or "") and "Return code RD-S-2002" in (plain.html or "")
    )
    forgotten = with_inline_images(message, c, sendgrid, {})
    assert [a.content_id for a in forgotten.attachments] == ["return-code.png"] and "cid:store-logo" not in (
        forgotten.html or ""
    )


@pytest.mark.parametrize("code", ["RD-S-1", "RD-0042-20261128-000123", "RD-x" * 30])
def test_the_html_reserves_the_barcodes_exact_size(code: str) -> None:
    slot, image = return_code_slot(code), return_code_image(code)
    assert slot is not None and image is not None
    assert (slot.cid, slot.width, slot.height) == (image.cid, image.width, image.height)


def test_a_barcode_png_reads_the_same_in_another_decoder() -> None:
    qtgui = pytest.importorskip("PySide6.QtGui")  # Qt's own PNG reader, which shares no code with ours
    bars = [bit == "1" for bit in "110100100001011001110010"]
    image = qtgui.QImage.fromData(bars_png(bars, module_px=3, height_px=5), "PNG")
    assert (image.width(), image.height()) == (len(bars) * 3, 5)
    for y in range(5):
        seen = [image.pixelColor(x, y).lightness() < 128 for x in range(0, image.width(), 3)]
        assert seen == bars
