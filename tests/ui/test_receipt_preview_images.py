"""The receipt preview shows the e-mail without its inline images (they travel as attachments when it is
sent), so no broken-image box appears; the return code is there as text."""

from __future__ import annotations

import random
from typing import Any

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.sandbox.pos import make_sale
from app.services.kiosk import ReceiptPreview
from app.ui.widgets.preview import ReceiptPreviewView


def test_the_preview_leaves_out_the_inline_images_and_keeps_the_code(qtbot: Any) -> None:
    receipt = ReceiptRenderer().render(
        parse_sale(make_sale(random.Random(4), sale_id="S-PRE")), DEMO_PROFILE, Language.EN
    )
    assert "cid:return-code.png" in receipt.html
    view = ReceiptPreviewView()
    qtbot.addWidget(view)
    view.show_preview(
        ReceiptPreview(
            "en", receipt.subject, receipt.html, receipt.text, receipt.sms.body, receipt.sms.segments, "GSM-7"
        )
    )
    shown = view.email.toHtml()
    assert "cid:" not in shown and "<img" not in shown
    assert "Return code RD-S-PRE" in view.email.toPlainText()
