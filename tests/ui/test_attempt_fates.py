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
from tests.ui.conftest import PIN, Drive, Kiosk, type_pin, until
from tests.ui.test_manager import open_manager

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
