"""The manager window's Store tab on a lane with `[hub] url`, against a real hub over loopback HTTP (the
kiosk's own runtime serving the hub's routes, on SQLite as the demo runs it): the lanes' sync state with a
lane that needs a look, today's receipts of two lanes, a search across them, a receipt's deliveries masked,
and a resend asked of the owning lane whose state follows what that lane reports."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QTableWidget

from app.domain.clock import utcnow
from app.services.hub import HubService
from app.support.asgi_server import start_asgi_server
from app.ui import formatting
from app.ui.manager.window import ManagerWindow
from tests.conftest import bearer
from tests.storage.hub_batches import batch, record, sale_records
from tests.ui.conftest import PIN, Drive, Kiosk, type_pin, until


def _today(records: list[dict[str, Any]], minute: int) -> list[dict[str, Any]]:
    """The sales of `records` on the store's today (whatever the hour: just past midnight too), the first at
    `minute` past its midnight and each next a minute later."""
    midnight = formatting.store_time(formatting.store_today(), time(0, 0))
    sales = [r for r in records if r["kind"] == "sales"]
    for n, r in enumerate(sales):
        r["data"]["occurred_at"] = (midnight + timedelta(minutes=minute + n)).isoformat()
    return records


def cells(table: QTableWidget, column: int) -> list[str]:
    return [table.item(row, column).text() for row in range(table.rowCount())]  # type: ignore[union-attr]


def test_the_store_tab_lists_every_lanes_day_searches_and_asks_the_owning_lane_to_resend(
    drive: Drive, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(kiosk: Kiosk) -> None:
        rt = kiosk.runtime
        rt.hub = HubService(rt.db)
        email = {
            "id": "d-1",
            "receipt_id": "r-1",
            "channel": "email",
            "recipient": "jane.doe@example.com",
            "state": "delivered",
            "attempts": 1,
        }
        first = [*_today(sale_records(1, 2, customer=None, lane="1"), 10), record(5, "deliveries", "d-1", email)]
        await rt.hub.apply(batch("store-1/1", 0, first))
        await rt.hub.apply(batch("store-1/2", 0, _today(sale_records(3, 1, customer=None, lane="2"), 20), backlog=7))
        await rt.hub.apply(batch("store-1/2", 4, []) | {"sent_at": (utcnow() + timedelta(minutes=3)).isoformat()})
        server = await start_asgi_server(rt.local_api(), name="hub")
        issued = await rt.tokens.create("lane-1", ["hub:sync", "receipts:read", "receipts:resend"], actor="tests")
        monkeypatch.setenv("RECEIPTDESK_HUB_TOKEN", issued.token)
        ctx = kiosk.shell.ctx
        ctx.settings = ctx.settings.model_copy(update={"hub": ctx.settings.hub.model_copy(update={"url": server.url})})
        window = ManagerWindow(ctx, kiosk.shell.monitor)
        try:
            assert window.store is not None and window.tabs.indexOf(window.store) > 0
            window.open()
            await type_pin(qtbot, window, PIN)
            page = window.store
            page.detail.poll_seconds = 0.02
            window.tabs.setCurrentWidget(page)  # opening the tab reads the hub
            await until(lambda: page.table.rowCount() == 3, what="today's receipts of both lanes")
            assert cells(page.table, 2) == ["S-3", "S-2", "S-1"] and cells(page.table, 1) == ["2", "1", "1"]
            assert page.count.text() == "3 receipts from 2 lanes"
            assert cells(page.lane_table, 0) == ["store-1/1", "store-1/2"]
            assert cells(page.lane_table, 2) == ["0", "7"]
            assert page.lane_note.text() == "Lane store-1/2 has a clock more than a minute off."
            assert page.lane_note.property("hint") == "warn"

            page.query.setText("S-1")
            page.refresh()
            await until(lambda: page.table.rowCount() == 1, what="the search")
            page.table.setCurrentCell(0, 0)
            detail = page.detail
            await until(
                lambda: detail.form.isEnabled() and detail.shown is not None and detail.shown.receipt.sale_id == "S-1",
                what="S-1",
            )
            assert detail.deliveries.item(0, 3).text() == "j***@example.com"  # type: ignore[union-attr]
            assert detail.send.text() == "Ask lane 1 to &resend"

            detail.channel.setCurrentIndex(detail.channel.findData("sms"))
            detail.to.setText("(217) 555-0100")
            detail.reason.setText("Customer asked at lane 2")
            detail.request_resend()
            await until(lambda: "Waiting for Lane 1" in detail.outcome.text(), what="the request to be made")
            lane = bearer(issued.token)
            async with httpx.AsyncClient(base_url=server.url, headers=lane) as http:  # the owning lane reports
                [pending] = (await http.get("/v1/hub/requests", params={"lane_id": "store-1/1"})).json()
                assert (pending["to"], pending["requested_by"]) == ("+12175550100", "Test manager")
                outcome = {"lane_id": "store-1/1", "state": "done", "detail": None, "delivery_id": None}
                answer = await http.post(f"/v1/hub/requests/{pending['id']}/outcome", json=outcome)
                assert answer.status_code == 200, answer.text
            await until(lambda: detail.outcome.text().startswith("Lane 1 queued it"), what="the lane's report")
            assert detail.outcome.property("hint") == "good"
            await until(lambda: "asked by Test manager" in detail.history.text(), what="the request in the history")
            assert "(***) ***-0100" in detail.history.text()
        finally:
            await window.tasks.close()
            window.close()
            window.deleteLater()
            await server.stop()

    drive(body)
