"""The deliveries table of the cashier's sale: a state that arrives before its delivery is listed is kept."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk.views import DeliveryView
from app.ui.widgets.deliveries import DeliveryTable


def view(delivery_id: str, state: DeliveryState) -> DeliveryView:
    return DeliveryView(delivery_id, Channel.EMAIL, "s***@example.com", state, 0, None)


def test_a_state_that_came_before_its_delivery_was_listed_is_shown(qtbot: QtBot) -> None:
    """The dispatcher can send (and say so) before the send's result lists the delivery."""
    table = DeliveryTable()
    qtbot.addWidget(table)
    assert not table.update_state("d-1", DeliveryState.SENT, None)  # not listed yet
    table.expect("d-1", DeliveryState.SENT, None)
    table.set_deliveries((view("d-1", DeliveryState.QUEUED), view("d-2", DeliveryState.QUEUED)))
    assert [d.state for d in table.deliveries] == [DeliveryState.SENT, DeliveryState.QUEUED]
    words = [item.text() for item in (table.item(0, 2), table.item(1, 2)) if item is not None]
    assert len(words) == 2 and words[0] != words[1]  # the row shows it too


def test_an_early_state_never_takes_a_listed_state_back(qtbot: QtBot) -> None:
    table = DeliveryTable()
    qtbot.addWidget(table)
    table.expect("d-1", DeliveryState.SENT, None)
    table.set_deliveries((view("d-1", DeliveryState.DELIVERED),))  # a fresher snapshot
    assert [d.state for d in table.deliveries] == [DeliveryState.DELIVERED]
    table.set_deliveries((view("d-1", DeliveryState.QUEUED),))  # the early state was used once
    assert [d.state for d in table.deliveries] == [DeliveryState.QUEUED]


def test_tries_count_attempts_not_reports(qtbot: QtBot) -> None:
    """Sent then Delivered is one try: a provider's report is no attempt."""
    table = DeliveryTable()
    qtbot.addWidget(table)
    table.set_deliveries((view("d-1", DeliveryState.QUEUED),))
    assert table.update_state("d-1", DeliveryState.QUEUED, "timeout", attempt=1)  # a retry is due
    assert table.update_state("d-1", DeliveryState.SENT, None, attempt=2)
    assert table.update_state("d-1", DeliveryState.DELIVERED, None)
    assert [d.attempts for d in table.deliveries] == [2]
    item = table.item(0, 3)
    assert item is not None and item.text() == "2"
