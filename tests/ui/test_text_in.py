"""Text-in on the customer screen: the QR code painted module by module reads back as the `sms:` link
(zxing-cpp, an independent reader, and segno's own matrix), the choice screen shows it only when the
store offers a code, the customer's text sends the receipt and ends their turn, in their language."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import qasync
import segno
import zxingcpp
from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.demo.kiosk import DEMO_TEXTER, KioskDemo
from app.domain.channels import Channel, Language
from app.domain.clock import utcnow
from app.domain.delivery import DeliveryState
from app.domain.intake import parse_sale
from app.domain.text_in import body_for, consent_wording, sms_uri
from app.main import Runtime
from app.sandbox.pos import make_sale
from app.services.bus import DeliveryChanged
from app.services.kiosk import ReceiptChoice
from app.services.text_in import TextInOffer
from app.storage.models import ConsentRow, TextInCodeRow
from app.triggers.pos import pos_event
from app.ui.customer.choose import ChoosePage
from app.ui.customer.flow import Step
from app.ui.customer.window import TEXT_IN_IDLE_MS
from app.ui.i18n import tr
from app.ui.shell import KioskShell
from app.ui.widgets.qr import QUIET_ZONE, QrCode
from app.ui.widgets.touch_size import MIN_TOUCH_PX
from app.ui_launch import demo_text_in_control
from tests.conftest import wait_until
from tests.ui.conftest import from_loop, until
from tests.ui.test_demo_kiosk import run_demo

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


def plain(text: str) -> str:
    """`text` with the no-break spaces and hyphens that keep a number on one line made ordinary."""
    return text.replace("\u00a0", " ").replace("\u2011", "-")


def test_the_choice_screen_shows_the_code_only_when_offered_and_its_room_moves_nothing(qtbot: QtBot) -> None:
    page = ChoosePage(text_in=True)
    qtbot.addWidget(page)
    page.set_total(Decimal("12.50"))
    page.set_known("Demo Market", email=None, phone="(***) ***-7998")
    page.resize(1280, 720)
    page.show()
    shown: list[TextInOffer | None] = []
    page.sig_text_in.connect(shown.append)

    def places() -> list[QRect]:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        return [b.geometry() for b in (*page.buttons.values(), page.quick[ReceiptChoice.SMS])]

    panel = page.text_in
    assert panel is not None and panel.isHidden() and page.text_in_shown is None
    before = places()
    body = body_for("K7Q2XM")
    offer = TextInOffer("K7Q2XM", "+15125550100", body, sms_uri("+15125550100", body), datetime.now(UTC))
    page.show_text_in(offer, store="Demo Market")
    assert shown == [offer] and page.text_in_shown == offer and panel.isVisible()
    assert places() == before  # the code came into room kept for it: no choice moved under a finger
    assert read_qr(panel.code.grab().toImage()) == [offer.sms_uri]
    assert panel.heading.text() == "Scan to get your receipt by text"
    assert plain(panel.manual.text()) == "or text RD K7Q2XM to (512) 555-0100"
    assert panel.consent_shown == consent_wording(Language.EN, store="Demo Market", body=body, number=offer.number)
    assert all(min(b.width(), b.height()) >= MIN_TOUCH_PX for b in page.buttons.values())
    page.retranslate(Language.ES)
    assert panel.heading.text() == tr("text_in_scan", Language.ES)
    assert plain(panel.manual.text()) == "o envíe RD K7Q2XM por mensaje al (512) 555-0100"
    assert panel.consent_shown == consent_wording(Language.ES, store="Demo Market", body=body, number=offer.number)
    page.show_text_in(None)
    assert shown == [offer, None] and page.text_in_shown is None and panel.isHidden()
    assert places() == before
    without = ChoosePage()
    qtbot.addWidget(without)
    assert without.text_in is None and without.text_in_shown is None


async def walk_in(runtime: Runtime, sale_id: str) -> str:
    """A sale with no customer: the customer screen asks."""
    payload = make_sale(random.Random(sale_id), sale_id=sale_id, lane="1")
    payload.pop("customer", None)
    result = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return str(result.receipt_id)


def test_the_demo_customer_texts_the_code_the_receipt_goes_by_text_and_the_screen_thanks_them_in_spanish(
    loop: qasync.QEventLoop, tmp_path: Path, qtbot: QtBot
) -> None:
    async def body(demo: KioskDemo, runtime: Runtime, shell: KioskShell) -> None:
        screen, cashier = shell.customer, shell.cashier
        button = demo_text_in_control(shell, demo)
        assert not button.isEnabled()
        receipt = await walk_in(runtime, "TEXTIN-1")
        await until(lambda: screen.step is Step.CHOOSE and screen.text_in_offer is not None, what="the code")
        offer = screen.text_in_offer
        assert offer is not None and button.isEnabled()
        assert screen.idle.isActive() and screen.idle.interval() == TEXT_IN_IDLE_MS  # time to text it
        assert read_qr(screen.choose.text_in.code.grab().toImage()) == [offer.sms_uri]  # type: ignore[union-attr]
        screen.toggle_language()

        async def shown_in_spanish() -> bool:
            language = await runtime.db.read(
                lambda s: s.scalar(select(TextInCodeRow.language).where(TextInCodeRow.code == offer.code))
            )
            return bool(language == Language.ES.value)

        await wait_until(shown_in_spanish)  # the words the customer now reads are the ones recorded
        for other, state in ((f"{receipt}-other", DeliveryState.SENT), (receipt, DeliveryState.FAILED)):
            screen.delivery_changed(DeliveryChanged("d", other, Channel.SMS, "twilio", state, None))
        assert screen.step is Step.CHOOSE  # another sale's text, or a text that failed, ends nothing

        await from_loop(lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))
        await until(lambda: screen.step is Step.DONE, what="the thank-you", timeout=10)
        assert screen.done.title.text() == tr("done_sent", Language.ES)
        assert not button.isEnabled() and screen.text_in_offer is None
        async with httpx.AsyncClient(base_url=demo.sandbox.url) as inbox:
            texts = (await inbox.get("/_sandbox/messages", params={"provider": "twilio"})).json()["messages"]
        assert [m["to"] for m in texts] == [[DEMO_TEXTER]]
        grants = await runtime.db.read(
            lambda s: list(
                s.execute(select(ConsentRow.language, ConsentRow.text_shown).where(ConsentRow.source == "text_in"))
            )
        )
        words = consent_wording(Language.ES, store=shell.ctx.store_name, body=body_for(offer.code), number=offer.number)
        assert [(g.language, g.text_shown) for g in grants] == [(Language.ES.value, words)]

        def delivered() -> bool:
            panel = cashier.panel
            return (
                panel.sale is not None
                and panel.sale.receipt_id == receipt
                and [(d.channel, d.state) for d in panel.deliveries.deliveries]
                == [(Channel.SMS, DeliveryState.DELIVERED)]
            )

        await wait_until(delivered, timeout=10)

    run_demo(loop, tmp_path, body)
