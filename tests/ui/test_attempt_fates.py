"""The manager sees every attempt's fate on the timeline, and decides on held messages on the health page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from app.ui import theme
from app.ui.manager.window import ManagerWindow
from tests.attempt_fates import MANAGER as OTHER_MANAGER
from tests.attempt_fates import Fates, write_fates
from tests.ui.conftest import MANAGER, PIN, Drive, Kiosk, from_loop, type_pin, until
from tests.ui.test_manager import audit_actors, open_manager

Payload = Callable[..., dict[str, Any]]


async def signed_in(kiosk: Kiosk, qtbot: QtBot) -> ManagerWindow:
    manager = await open_manager(kiosk, qtbot)
    await type_pin(qtbot, manager, PIN)
    return manager


async def timeline_of(manager: ManagerWindow, receipt_id: str) -> dict[str, list[tuple[str, str, str]]]:
    """The timeline of one receipt: per delivery id, its attempt rows (who, fate, detail)."""
    page = manager.receipts
    await until(lambda: any(r.receipt_id == receipt_id for r in page.rows), what="the receipts list")
    page.table.selectRow(next(i for i, r in enumerate(page.rows) if r.receipt_id == receipt_id))
    detail = page.detail
    await until(lambda: detail.detail is not None and detail.detail.summary.receipt_id == receipt_id)
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for i in range(detail.timeline.topLevelItemCount()):
        item = detail.timeline.topLevelItem(i)
        delivery_id = item.data(0, Qt.ItemDataRole.UserRole)
        children = [item.child(j) for j in range(item.childCount())]
        rows[str(delivery_id)] = [(c.text(1), c.text(2), c.text(3)) for c in children]
    return rows


def test_the_timeline_says_how_each_attempt_ended_and_how_a_doubt_was_settled(
    drive: Drive, qtbot: QtBot, sale_payload: Payload
) -> None:
    async def body(kiosk: Kiosk) -> None:
        fates: Fates = await write_fates(kiosk.runtime, sale_payload)
        manager = await signed_in(kiosk, qtbot)
        rows = await timeline_of(manager, fates.receipt_id)
        email = rows[fates.email_id]
        assert [(who, fate) for who, fate, _ in email] == [
            ("#1 via SendGrid", "failed for now 503"),
            ("#2 via SendGrid", "in doubt \u2192 SendGrid cannot be asked, sent again as a possible duplicate"),
            ("#3 via SendGrid", "sent \u2014 possible duplicate"),
        ]
        assert email[0][2] == "SendGrid answered 503" and "settled" in email[1][2]
        assert rows[fates.text_id][0][:2] == ("#1 via Twilio", "in doubt \u2192 found at Twilio, not sent again")
        item = manager.receipts.detail.timeline.topLevelItem(0).child(2)
        assert item.foreground(2).color() == QColor(theme.WARN)

        dropped = await timeline_of(manager, fates.dropped_receipt_id)
        assert dropped[fates.dropped_id][0][1] == f"in doubt \u2192 dropped by {OTHER_MANAGER}"
        held = await timeline_of(manager, fates.held_receipt_id)
        assert held[fates.held_id][0][1] == "in doubt \u2192 Twilio cannot be asked, held for a manager"
        top = manager.receipts.detail.timeline.topLevelItem(0)
        assert top.text(2) == "Held for a manager"

    drive(body)


async def health_page_with_held(kiosk: Kiosk, qtbot: QtBot, sale_payload: Payload) -> tuple[ManagerWindow, Fates]:
    fates = await write_fates(kiosk.runtime, sale_payload)
    manager = await signed_in(kiosk, qtbot)
    manager.tabs.setCurrentWidget(manager.health)
    kiosk.shell.monitor.refresh()
    box = manager.health.held
    await until(lambda: box.table.rowCount() == 1 and box.table.isVisible(), what="the held message to be listed")
    await until(lambda: manager.health.facts["warning"].text() != "none", what="the warning")
    return manager, fates


def test_a_manager_sends_a_held_message_from_the_health_page(drive: Drive, qtbot: QtBot, sale_payload: Payload) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager, fates = await health_page_with_held(kiosk, qtbot, sale_payload)
        page, box = manager.health, manager.health.held
        assert page.facts["warning"].text().startswith("1 message is held because its customer may already have it")
        assert page.facts["status"].text() == "Online"  # a held message is no outage
        assert [box.table.item(0, c).text() for c in range(1, 4)] == ["Text", "(***) ***-0142", "Twilio"]
        await from_loop(lambda: qtbot.mouseClick(box.send_buttons[fates.held_id], Qt.MouseButton.LeftButton))
        await until(lambda: box.table.rowCount() == 0 and box.empty.isVisible(), what="the held list to empty")

        async def sent_again() -> bool:
            detail = await kiosk.runtime.receipts.get(fates.held_receipt_id)
            return [a.settled_by for a in detail.attempts[fates.held_id]][:1] == ["sent_by_manager"]

        assert await sent_again()
        detail = await kiosk.runtime.receipts.get(fates.held_receipt_id)
        assert detail.attempts[fates.held_id][0].settled_actor == MANAGER
        assert await audit_actors(kiosk, "delivery.in_doubt_settled") == [MANAGER]

    drive(body)


def test_dropping_a_held_message_asks_why_first(drive: Drive, qtbot: QtBot, sale_payload: Payload) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager, fates = await health_page_with_held(kiosk, qtbot, sale_payload)
        box = manager.health.held
        assert not box.drop_form.isVisible()
        await from_loop(lambda: qtbot.mouseClick(box.drop_buttons[fates.held_id], Qt.MouseButton.LeftButton))
        assert box.drop_form.isVisible() and box.dropping == fates.held_id
        assert box.reason_label.text() == "Why drop the text to (***) ***-0142? It will not be sent again."
        await from_loop(lambda: qtbot.mouseClick(box.confirm, Qt.MouseButton.LeftButton))
        await until(lambda: manager.banner.message == "Say why the message is dropped.", what="the missing reason")
        assert box.table.rowCount() == 1
        await from_loop(lambda: qtbot.keyClicks(box.reason, "she showed it at the till"))
        await from_loop(lambda: qtbot.keyClick(box.reason, Qt.Key.Key_Return))
        await until(lambda: box.table.rowCount() == 0 and not box.drop_form.isVisible(), what="the drop")
        detail = await kiosk.runtime.receipts.get(fates.held_receipt_id)
        [attempt] = detail.attempts[fates.held_id]
        assert attempt.settled_by == "dropped" and attempt.settled_actor == MANAGER
        assert detail.deliveries[0].reason == f"Dropped by {MANAGER}: she showed it at the till"
        await until(lambda: manager.health.facts["warning"].text() == "none", what="the warning to go")

    drive(body)
