"""The store's logo from `[store] logo` and the return barcode on a real send: the runtime renders the
receipt with both, and the sandbox's SendGrid takes the message with its inline images."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import build_runtime
from app.rendering.inline_images import store_logo
from app.sandbox.server import RunningSandbox
from app.support.png import bars_png
from tests.conftest import EMAIL_ONLY, drained, fast_settings, new_database, wait_until
from tests.unsubscribe_support import as_sent

Payload = Callable[..., dict[str, Any]]


async def test_a_receipt_goes_out_with_the_stores_logo_and_its_barcode(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(bars_png([True, False] * 60, module_px=2, height_px=60))
    settings = fast_settings(sandbox.url)
    settings = settings.model_copy(update={"store": settings.store.model_copy(update={"logo": str(logo)})})
    new_database(tmp_path)
    rt = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    try:
        payload = sale_payload("S-LOGO", with_customer=True)
        payload["customer"] = dict(EMAIL_ONLY)
        accepted = await rt.checkout.accept(TriggerEvent("pos-api", "e-logo", parse_sale(payload), datetime.now(UTC)))
        rt.start_dispatching()
        await wait_until(lambda: drained(rt))
        detail = await rt.receipts.get(accepted.receipt_id)
    finally:
        await rt.close()
    assert 'src="cid:store-logo.png" width="240" height="60"' in detail.html
    assert 'src="cid:return-code.png"' in detail.html and "Return code RD-S-LOGO" in detail.html
    assert [d.state for d in detail.deliveries] == [DeliveryState.SENT]
    [sent] = sandbox.app.state.store.messages(provider="sendgrid")
    html, _ = as_sent(detail.html, None, sent.headers)  # the snapshot and the address's unsubscribe line
    assert html and sent.html_sha256 == hashlib.sha256(html.encode()).hexdigest()  # both images went with it


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "mandrill", "ses", "gmail", "msgraph"])
async def test_every_email_stand_in_takes_the_inline_images(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload, provider: str
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(bars_png([True, False] * 20, module_px=1, height_px=20))
    settings = sandbox_settings(Settings(), sandbox.url, routing={Channel.EMAIL: provider})
    settings = settings.model_copy(update={"store": settings.store.model_copy(update={"logo": str(logo)})})
    new_database(tmp_path)
    rt = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    try:
        payload = sale_payload(f"S-{provider}", with_customer=True)
        payload["customer"] = dict(EMAIL_ONLY)
        event = TriggerEvent("pos-api", f"e-{provider}", parse_sale(payload), datetime.now(UTC))
        accepted = await rt.checkout.accept(event)
        rt.start_dispatching()
        await wait_until(lambda: drained(rt))
        detail = await rt.receipts.get(accepted.receipt_id)
    finally:
        await rt.close()
    assert "cid:store-logo.png" in detail.html and "cid:return-code.png" in detail.html
    assert [(d.provider, d.state) for d in detail.deliveries] == [(provider, DeliveryState.SENT)]


def test_an_unusable_logo_is_logged_once_and_receipts_go_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert store_logo(None) is None and store_logo("  ") is None
    with caplog.at_level(logging.WARNING):
        assert store_logo(str(tmp_path / "nowhere.png")) is None
    [record] = caplog.records
    assert "nowhere.png cannot be read" in record.getMessage() and "without it" in record.getMessage()
