"""The manager's Records page: the retention periods, the last purge, and a hold placed and released with a reason,
each audited with the manager's name."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.config.settings import RetentionSettings
from app.services.retention import RetentionService
from app.storage.database import Database
from app.storage.models import AuditRow
from app.ui.manager.records_page import RecordsPage
from app.ui.tasks import TaskOwner
from tests.ui.conftest import from_loop, until


def test_a_hold_is_placed_and_released_from_the_records_page(
    loop: qasync.QEventLoop, db: Database, qtbot: QtBot, tmp_path: Path
) -> None:
    async def body() -> None:
        service = RetentionService(db, RetentionSettings(), zone=ZoneInfo("America/Chicago"))
        await service.purge(actor="retention")
        tasks = TaskOwner(None, "records")
        page = RecordsPage(service, tasks, actor=lambda: "Ana")
        qtbot.addWidget(page)
        page.resize(1000, 720)
        page.show()
        await until(lambda: page.periods.rowCount() == 6, what="the periods")
        assert page.periods.item(0, 1).text() == "2,555 days (7 years)"
        await until(lambda: page.purge.text().startswith("Last purge: "), what="the last purge")
        assert "removed nothing" in page.purge.text() and "Next: " in page.purge.text()

        page.scope.setCurrentIndex(page.scope.findData("dates"))
        assert page.days.isVisibleTo(page) and not page.subject.isVisibleTo(page)
        page.from_day.setDate(date(2025, 1, 1))
        page.to_day.setDate(date(2025, 3, 31))
        page.reason.setText("tax audit 2025")
        await from_loop(lambda: qtbot.mouseClick(page.place_button, Qt.MouseButton.LeftButton))
        await until(lambda: page.table.rowCount() == 1, what="the hold listed")
        assert page.table.item(0, 1).text() == "sales of 2025-01-01 to 2025-03-31"
        assert page.status.text().startswith("Hold 1 placed")
        page.grab().save(str(tmp_path / "records.png"))

        page.table.selectRow(0)
        assert page.release_button.isEnabled()
        page.reason.setText("audit closed")
        await from_loop(lambda: qtbot.mouseClick(page.release_button, Qt.MouseButton.LeftButton))
        await until(lambda: page.table.rowCount() == 0, what="the hold released")
        rows = await db.read(
            lambda s: list(s.execute(select(AuditRow.action, AuditRow.actor, AuditRow.detail).order_by(AuditRow.seq)))
        )
        holds = [(a, who, json.loads(d)["reason"]) for a, who, d in rows if a.startswith("hold.")]
        assert holds == [("hold.placed", "Ana", "tax audit 2025"), ("hold.released", "Ana", "audit closed")]
        await tasks.close()

    loop.run_until_complete(body())
