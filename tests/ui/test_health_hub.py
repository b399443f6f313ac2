"""The manager's health page: the lane's sync with its hub, a row shown only when the lane has a hub."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.services.health import Health
from app.storage.change_feed import LaneSync
from app.ui.formatting import clock_time
from app.ui.manager.health_page import hub_text
from tests.ui.conftest import Drive, Kiosk, until

PUSHED = datetime(2026, 12, 5, 15, 10, tzinfo=UTC)


def test_the_health_page_shows_the_hub_sync_only_for_a_lane_with_a_hub(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        page = kiosk.shell.manager.health
        await until(lambda: kiosk.shell.monitor.latest is not None, what="a health check")
        latest = kiosk.shell.monitor.latest
        assert latest is not None and latest.hub_sync is None
        assert not page._facts.isRowVisible(page.facts["hub"])

        sync = LaneSync(True, 1200, 3440, 1240, 2, PUSHED, "no answer", 40)
        page.show_health(replace(latest, hub_url="https://hub.store.lan:8765", hub_sync=sync))
        assert page._facts.isRowVisible(page.facts["hub"])
        shown = page.facts["hub"].text()
        assert shown.startswith("1,240 records wait, 2 parked, last push ")
        assert shown.endswith(", clock 40 ms behind the hub's")

    drive(body)


def test_hub_words() -> None:
    health = Health(True, True, 0, 0, None, {}, (), None)
    assert hub_text(health) == ""
    sync = LaneSync(True, 9, 9, 0, 0, None, None, None)
    assert hub_text(replace(health, hub_sync=sync)) == "nothing waits, none parked, no push yet"
    sync = LaneSync(True, 9, 10, 1, 0, PUSHED, None, -2500)
    words = hub_text(replace(health, hub_sync=sync), PUSHED + timedelta(minutes=1))
    assert words == f"1 record waits, none parked, last push {clock_time(PUSHED)}, clock 2,500 ms ahead of the hub's"
