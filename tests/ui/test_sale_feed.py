"""The cashier's sale list in time order: new sales go below, so no row moves under the pointer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.services.kiosk import KioskSale
from app.ui.cashier import feed
from app.ui.cashier.feed import SaleFeedModel

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def sale(n: int) -> KioskSale:
    preview: Any = None  # the list never reads the preview
    return KioskSale(
        f"r{n}", f"K{n:04d}", "1", Decimal("9.99"), START, START + timedelta(minutes=n), None, None, preview, ()
    )


def test_a_new_sale_goes_below_and_an_older_one_into_its_place(qapp: Any) -> None:
    model = SaleFeedModel()
    model.replace_all([sale(3), sale(1), sale(2)])  # as a search answers: any order
    assert [r.sale.receipt_id for r in model.rows()] == ["r1", "r2", "r3"]
    moved: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: moved.append((first, last)))
    assert model.put(sale(4)) == 0
    assert moved == [(3, 3)] and model.newest() == "r4"  # below every row on screen: nothing shifts
    model.put(replace(sale(0), receipt_id="r0"))  # a scanned paper receipt from earlier
    assert [r.sale.receipt_id for r in model.rows()][:2] == ["r0", "r1"] and model.newest() == "r4"


def test_the_oldest_rows_go_when_the_list_is_full(qapp: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(feed, "MAX_ROWS", 3)
    model = SaleFeedModel()
    model.replace_all([sale(1), sale(2), sale(3)])
    assert model.put(sale(4)) == 1  # the caller scrolls up by one to keep the view still
    assert [r.sale.receipt_id for r in model.rows()] == ["r2", "r3", "r4"] and model.find("r1") == -1
