"""The manager: name and PIN with lockout, receipts with timeline, resend with a reason, retry, export, audit,
health; whoever signed in is named in the audit log."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.domain.capture import CaptureState
from app.domain.card_scrub import TRACK_REMOVED
from app.domain.cards import contains_card_number
from app.domain.delivery import DeliveryState
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.reasons import Reason
from app.services.kiosk import ReceiptChoice, SendRequest
from app.storage.models import AuditRow
from app.ui.manager.captures_page import CapturesPage
from app.ui.manager.window import ManagerWindow
from tests.ui.conftest import MANAGER, PIN, Drive, Kiosk, from_loop, type_pin, until

ESCPOS = Path(__file__).parent.parent / "fixtures" / "escpos"


async def open_manager(kiosk: Kiosk, qtbot: QtBot) -> ManagerWindow:
    await from_loop(lambda: qtbot.keyClick(kiosk.shell.cashier, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier))
    manager = kiosk.shell.manager
    if not manager.isVisible():  # the shortcut needs an active window; the button always works
        kiosk.shell.cashier.sig_manager.emit()
    await until(manager.isVisible, what="the manager window")
    return manager


async def audit_actions(kiosk: Kiosk) -> list[tuple[str, str]]:
    rows = await kiosk.runtime.db.read(lambda s: list(s.scalars(select(AuditRow).order_by(AuditRow.seq))))
    return [(r.action, r.detail) for r in rows]


async def audit_actors(kiosk: Kiosk, action: str) -> list[str]:
    rows = await kiosk.runtime.db.read(
        lambda s: list(s.scalars(select(AuditRow.actor).where(AuditRow.action == action).order_by(AuditRow.seq)))
    )
    return list(rows)


def test_pin_lockout_after_five_wrong_pins(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager = await open_manager(kiosk, qtbot)
        assert not manager.unlocked
        await until(lambda: manager.pin.name == MANAGER, what="the only manager to be chosen")
        for attempt in range(4):
            await type_pin(qtbot, manager, "1111")
            assert manager.banner.message == f"Wrong PIN. {4 - attempt} {'try' if attempt == 3 else 'tries'} left."
        await type_pin(qtbot, manager, "1111")
        assert manager.banner.message == "Locked for 1 minute after too many wrong PINs."
        assert not manager.pin.unlock_button.isEnabled() and not manager.pin.field.isEnabled()
        assert manager.pin.countdown.isActive()
        assert "locked for 1 minute" in manager.pin.state.text()
        manager.pin.field.setText(PIN)
        manager.pin.unlock()  # even the right PIN is refused while locked
        await until(lambda: not manager.pin.checking, what="the PIN to be checked")
        assert not manager.unlocked and manager.banner.message.startswith("Locked for")
        kiosk.clock.advance(61)
        await until(lambda: manager.pin.field.isEnabled(), timeout=3, what="the lockout to end")
        status = kiosk.shell.cashier.status_panel
        assert status.texts[2] == "Last error: Locked for 1 minute after too many wrong PINs."
        await type_pin(qtbot, manager, PIN)
        assert manager.unlocked
        assert manager.title.text() == f"Manager: {MANAGER}"
        assert not manager.pin.countdown.isActive()
        assert "wrong PIN" not in status.texts[2]  # signed in: the lockout is no status any more
        actions = [a for a, _ in await audit_actions(kiosk)]
        assert actions[-7:] == ["manager.pin_failed"] * 5 + ["manager.locked", "manager.unlocked"]  # none while locked
        assert await audit_actors(kiosk, "manager.unlocked") == [MANAGER]
        manager.lock()
        assert kiosk.shell.ctx.signed_in is None and manager.title.text() == "Manager"

    drive(body)


def test_each_manager_is_named_for_what_they_did(drive: Drive, qtbot: QtBot, tmp_path: Path) -> None:
    async def body(kiosk: Kiosk) -> None:
        ctx = kiosk.shell.ctx
        await ctx.managers.add("Ana Lee", "739154", actor="test")
        result = await kiosk.post_sale(customer={"email": "jon@example.com", "channels": ["email"]})
        manager = await open_manager(kiosk, qtbot)
        await until(lambda: manager.pin.who.count() == 2, what="both managers to be listed")
        await type_pin(qtbot, manager, PIN, name="Ana Lee")  # Ana's name, someone else's PIN
        assert not manager.unlocked and manager.banner.message == "Wrong PIN. 4 tries left."
        await type_pin(qtbot, manager, "739154", name="Ana Lee")
        assert manager.unlocked and ctx.signed_in == "Ana Lee"
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == result.receipt_id)
        await from_loop(lambda: qtbot.keyClicks(detail.resend_to, "jon@example.org"))
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "typo"))
        await from_loop(lambda: qtbot.keyClick(detail.resend_reason, Qt.Key.Key_Return))
        await until(lambda: detail.detail is not None and len(detail.detail.deliveries) == 2, what="the resend")
        manager.tabs.setCurrentWidget(manager.export)
        manager.export.path.setText(str(tmp_path / "ana.csv"))
        await from_loop(lambda: qtbot.mouseClick(manager.export.export_button, Qt.MouseButton.LeftButton))
        await until(lambda: manager.export.result.text().startswith("Exported"), what="the export")
        manager.lock()
        await type_pin(qtbot, manager, PIN, name=MANAGER)
        assert ctx.signed_in == MANAGER
        assert await audit_actors(kiosk, "manager.unlocked") == ["Ana Lee", MANAGER]
        assert await audit_actors(kiosk, "receipt.resent") == ["Ana Lee"]
        assert await audit_actors(kiosk, "records.exported") == ["Ana Lee"]
        assert await audit_actors(kiosk, "manager.pin_failed") == ["kiosk"]

    drive(body)


def test_resend_to_a_corrected_contact_needs_a_reason_and_is_audited(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        result = await kiosk.post_sale(customer={"email": "jon@gmial.com", "channels": ["email"]})
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1, what="today's receipts")
        assert page.table.item(0, 5).text() == "j***@gmial.com"
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == result.receipt_id)
        assert "jon@gmial.com" in detail.timeline.topLevelItem(0).text(1)  # the manager sees the full address
        await from_loop(lambda: qtbot.keyClicks(detail.resend_to, "jon@gmail.com"))
        await from_loop(lambda: qtbot.mouseClick(detail.resend_button, Qt.MouseButton.LeftButton))
        await until(
            lambda: "reason" in manager.banner.message.lower() or "why" in manager.banner.message.lower(),
            what="the reason to be asked for",
        )
        await from_loop(lambda: qtbot.keyClicks(detail.resend_reason, "Customer misspelled gmail"))
        await from_loop(lambda: qtbot.keyClick(detail.resend_reason, Qt.Key.Key_Return))
        await until(lambda: detail.detail is not None and len(detail.detail.deliveries) == 2, what="the resend")
        resent = [d for a, d in await audit_actions(kiosk) if a == "receipt.resent"]
        assert len(resent) == 1 and "Customer misspelled gmail" in resent[0]
        assert await audit_actors(kiosk, "receipt.resent") == [MANAGER]
        await until(
            lambda: detail.timeline.topLevelItemCount() == 2 and detail.timeline.topLevelItem(1).text(2) == "Sent",
            what="the resend to go out",
        )

    drive(body)


def test_failed_deliveries_are_retried_from_the_timeline(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        faults = kiosk.sandbox.app.state.faults  # type: ignore[attr-defined]
        faults.configure(error_rate=1.0, error_status=400, providers=["sendgrid"])
        await kiosk.post_sale(customer={"email": "fail@example.com", "channels": ["email"]})
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1)
        page.table.selectRow(0)
        await until(
            lambda: page.detail.detail is not None and page.detail.detail.deliveries[0].state is DeliveryState.FAILED,
            what="the failure in the timeline",
        )
        assert page.detail.design.text() == "Sent with ReceiptDesk's own design"  # no store template is set
        faults.clear()
        page.detail.timeline.setCurrentItem(page.detail.timeline.topLevelItem(0))
        assert page.detail.retry_button.isEnabled()
        await from_loop(lambda: qtbot.mouseClick(page.detail.retry_button, Qt.MouseButton.LeftButton))
        await until(
            lambda: page.detail.detail is not None and page.detail.detail.deliveries[0].state is DeliveryState.SENT,
            what="the retry to go out",
        )
        attempts = page.detail.detail.attempts[page.detail.detail.deliveries[0].id] if page.detail.detail else ()
        assert [a.outcome for a in attempts] == ["permanent", "sent"]
        assert await audit_actors(kiosk, "queue.retried") == [MANAGER]

    drive(body)


def test_export_a_date_range_to_csv_with_progress(drive: Drive, qtbot: QtBot, tmp_path: Path) -> None:
    async def body(kiosk: Kiosk) -> None:
        for n in range(7):
            result = await kiosk.post_sale(customer=None)
            if n % 2:
                await kiosk.shell.ctx.kiosk.send(
                    result.receipt_id, SendRequest(ReceiptChoice.EMAIL, email=f"c{n}@example.com")
                )
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        manager.tabs.setCurrentWidget(manager.export)
        page = manager.export
        target = tmp_path / "out" / "today.csv"
        target.parent.mkdir()
        page.path.setText(str(target))
        seen: list[int] = []
        page.progress.valueChanged.connect(seen.append)
        await from_loop(lambda: qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton))
        await until(lambda: "Exported 7 receipts" in page.result.text(), what="the export")
        assert page.progress.value() == page.progress.maximum() == 7
        assert seen and seen[-1] == 7
        with target.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 7
        sent = [r for r in rows if r["channel"] == "email"]
        assert len(sent) == 3 and all(r["recipient"].startswith("c***@") for r in sent)
        assert not list(target.parent.glob("*.partial"))

    drive(body)


def test_audit_check_and_health_chart(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        await kiosk.post_sale(customer={"email": "a@example.com", "channels": ["email"]})
        await kiosk.post_sale(customer={"phone": "+12175550100", "channels": ["sms"]})
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        manager.tabs.setCurrentWidget(manager.audit)
        await from_loop(lambda: qtbot.mouseClick(manager.audit.check_button, Qt.MouseButton.LeftButton))
        await until(lambda: manager.audit.verdict.text().startswith("Intact"), what="the audit verdict")
        manager.tabs.setCurrentWidget(manager.health)
        chart = manager.health.chart
        await until(lambda: chart.data == {"Email": {"sent": 1}, "Text": {"sent": 1}}, what="today's chart")
        assert manager.health.facts["status"].text() == "Online"
        assert "Email: sent 1" in chart.accessibleDescription()
        image = chart.grab()
        assert not image.isNull()
        panel = kiosk.shell.cashier.status_panel
        await until(lambda: panel.texts[1] == "Queue: 0", what="the status bar to show an empty queue")
        assert panel.texts[0].endswith("Online")

    drive(body)


def test_the_timeline_shows_the_orders_lifecycle_and_its_notices(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        customer = {"email": "ana@example.com", "channels": ["email"]}
        result = await kiosk.post_sale(order_id="WEB-5521", customer=customer)
        assert kiosk.runtime.lifecycle is not None
        now = datetime.now(UTC)
        refund = OrderUpdate(
            source="shopify",
            event_id="evt-refund-1",
            store_id=kiosk.runtime.settings.store.id,
            order_id="WEB-5521",
            status=OrderStatus.REFUNDED,
            occurred_at=now,
            received_at=now,
            update_key="refund-1",
            refund_amount=Decimal("3.49"),
            reason=Reason.RETURNED,
        )
        applied = await kiosk.runtime.lifecycle.apply(refund)
        assert applied.receipt_id == result.receipt_id and applied.deliveries == 1
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.receipts
        await until(lambda: len(page.rows) == 1)
        page.table.selectRow(0)
        detail = page.detail
        await until(lambda: detail.detail is not None and len(detail.detail.deliveries) == 2, what="both deliveries")
        rows = [detail.timeline.topLevelItem(i) for i in range(detail.timeline.topLevelItemCount())]
        texts = [(row.text(1), row.text(2), row.text(3)) for row in rows]
        assert texts[0][0].startswith("Email to ana@example.com")
        assert texts[1] == ("Order refunded (shopify)", "Refunded", "$3.49 refunded, reason: returned")
        assert texts[2][0] == "Refunded notice: Email to ana@example.com"
        detail.timeline.setCurrentItem(rows[1])  # a lifecycle row is not a delivery: nothing to retry
        assert not detail.retry_button.isEnabled()

    drive(body)


def test_a_held_capture_is_read_then_released_by_the_manager(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        capture = kiosk.runtime.capture
        assert capture is not None
        await capture.start()  # as `[capture] enabled` does, without the serial or TCP pass-through
        capture.feed((ESCPOS / "classic_track_data.bin").read_bytes())
        await capture.drain()
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = CapturesPage(capture, manager.tasks, actor=lambda: kiosk.shell.ctx.actor)
        qtbot.addWidget(page)
        await page.load()
        assert [r.state for r in page.rows] == [CaptureState.HELD]
        page.table.selectRow(0)
        text = page.text.toPlainText()
        assert TRACK_REMOVED in text and "TEST/CARD" not in text and not contains_card_number(text)  # scrubbed only
        assert page.release_button.isEnabled()
        await from_loop(lambda: qtbot.mouseClick(page.release_button, Qt.MouseButton.LeftButton))
        await until(lambda: page.status.text().startswith("Sent as receipt"), what="the release")
        assert await kiosk.runtime.receipts.count() == 1
        assert await audit_actors(kiosk, "capture.released") == [MANAGER]

    drive(body)
