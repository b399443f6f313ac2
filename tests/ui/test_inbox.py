"""The manager's Inbox: a customer's text no keyword answered, its sender masked until shown, then handled."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.domain.clock import utcnow
from app.storage import inbound_texts
from tests.ui.conftest import PIN, Drive, Kiosk, from_loop, type_pin, until
from tests.ui.test_manager import audit_actors, open_manager

PHONE = "+12175550142"


def test_a_text_for_the_manager_is_shown_masked_revealed_and_handled(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        now = utcnow()
        await kiosk.runtime.db.write(
            lambda s: inbound_texts.add(
                s,
                provider="twilio",
                message_sid="SMinbox",
                sender=PHONE,
                body="Do you have oat milk?",
                keyword=None,
                received_at=now,
                handled=False,
            )
        )
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.inbox
        assert page is not None
        manager.tabs.setCurrentWidget(page)  # opening the tab loads it
        await until(lambda: page.table.rowCount() == 1, what="the text in the inbox")
        cells = [page.table.item(0, column).text() for column in range(3)]
        assert cells[1:] == ["(***) ***-0142", "Do you have oat milk?"]
        page.table.selectRow(0)
        await from_loop(lambda: qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton))
        await until(lambda: page.table.item(0, 1).text() == PHONE, what="the number shown")
        await from_loop(lambda: qtbot.mouseClick(page.done_button, Qt.MouseButton.LeftButton))
        await until(lambda: page.status.text() == "Marked handled.", what="the text handled")
        assert page.table.rowCount() == 0
        signed_in = kiosk.shell.ctx.signed_in
        assert await audit_actors(kiosk, "inbox.revealed") == [signed_in]
        assert await audit_actors(kiosk, "inbox.handled") == [signed_in]

    drive(body)
