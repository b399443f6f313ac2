"""The manager's Customers tab: find by phone, contacts masked until revealed, the consent history, a stop,
an export, and forget with a reason and a second click."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.domain.channels import Channel
from tests.ui.conftest import PIN, Drive, Kiosk, from_loop, type_pin, until
from tests.ui.test_manager import audit_actors, open_manager

CUSTOMER = {
    "name": "Marisol Quintero",
    "email": "marisol.quintero@example.com",
    "phone": "+12175550186",
    "channels": [Channel.EMAIL.value, Channel.SMS.value],
}


def test_a_manager_finds_stops_exports_and_forgets_a_customer(drive: Drive, qtbot: QtBot, tmp_path: Path) -> None:
    async def body(kiosk: Kiosk) -> None:
        await kiosk.post_sale(customer=CUSTOMER)
        manager = await open_manager(kiosk, qtbot)
        await type_pin(qtbot, manager, PIN)
        page = manager.customers
        assert page is not None
        manager.tabs.setCurrentWidget(page)
        manager.resize(1180, 820)

        def search() -> None:
            qtbot.keyClicks(page.query, "(217) 555-0186")
            qtbot.keyClick(page.query, Qt.Key.Key_Return)

        await from_loop(search)
        await until(lambda: page.view is not None, what="the customer shown")
        assert page.who.text() == "Marisol Quintero"
        contact_text = [w.text() for w in page.contacts.findChildren(type(page.who))]
        assert "Phone: (***) ***-0186" in contact_text and "Email: m***@example.com" in contact_text
        assert page.receipts.rowCount() == 1 and page.consents.rowCount() >= 1
        page.reveal("+12175550186")
        assert "Phone: +12175550186" in [w.text() for w in page.contacts.findChildren(type(page.who))]
        page.reveal("+12175550186")
        manager.grab().save(str(tmp_path / "customers-found.png"))

        await from_loop(lambda: qtbot.mouseClick(page.stop_texts, Qt.MouseButton.LeftButton))
        await until(lambda: "are stopped" in page.notice.text(), what="the texts stopped")
        await until(
            lambda: page.consents.item(0, 1).text().startswith("Withdrawn"), what="the revocation in the history"
        )
        assert page.consents.item(0, 4).text() == "Manager"

        done = await page.export(tmp_path / "marisol.json")
        assert "Exported 1 receipt(s)" in page.notice.text()
        assert json.loads((tmp_path / "marisol.json").read_text())["customers"][0]["name"] == "Marisol Quintero"

        await from_loop(lambda: qtbot.mouseClick(page.forget_button, Qt.MouseButton.LeftButton))
        assert page.forget_form.isVisible() and page.view is not None
        manager.grab().save(str(tmp_path / "customers-forget.png"))
        await from_loop(lambda: qtbot.mouseClick(page.confirm, Qt.MouseButton.LeftButton))  # no reason yet
        await until(lambda: page.forget_label.text().startswith("Type why"), what="the reason asked for")
        assert page.view is not None and not manager.banner.isVisible()  # nothing forgotten, no error raised
        await from_loop(lambda: qtbot.keyClicks(page.reason, "Asked at the service desk"))
        await from_loop(lambda: qtbot.mouseClick(page.confirm, Qt.MouseButton.LeftButton))
        await until(lambda: "is forgotten" in page.notice.text(), what="the customer forgotten")
        manager.grab().save(str(tmp_path / "customers-forgotten.png"))
        assert not page.details.isVisible()
        signed_in = kiosk.shell.ctx.signed_in
        assert await audit_actors(kiosk, "customer.forgotten") == [signed_in]
        assert await audit_actors(kiosk, "customer.exported") == [signed_in]
        assert done is None

    drive(body)
