"""What is still to come after each shipment, matched by SKU, else by name."""

from __future__ import annotations

from decimal import Decimal

from app.domain.lifecycle import UpdateLine, change_key, shipment_progress

MILK = UpdateLine("Whole Milk 1 gal", Decimal(2), "071430010167")
BREAD = UpdateLine("Sourdough Bread", Decimal(2), None)
TOWELS = UpdateLine("Paper Towels 6 roll", Decimal(1), "037000127116")
ORDER = [MILK, BREAD, TOWELS]


def test_nothing_shipped_leaves_the_whole_order_pending() -> None:
    progress = shipment_progress(ORDER, [])
    assert progress.shipped == () and progress.pending == tuple(ORDER) and not progress.complete


def test_shipments_are_matched_by_sku_then_by_name_and_add_up() -> None:
    first = (
        UpdateLine("Milk (renamed by the warehouse)", Decimal(1), "071430010167"),
        UpdateLine("sourdough bread", Decimal(1)),
    )
    progress = shipment_progress(ORDER, [first])
    assert progress.pending == (
        UpdateLine("Whole Milk 1 gal", Decimal(1), "071430010167"),
        UpdateLine("Sourdough Bread", Decimal(1), None),
        TOWELS,
    )
    second = (UpdateLine("x", Decimal(1), "071430010167"), UpdateLine("Sourdough Bread", Decimal(1)))
    progress = shipment_progress(ORDER, [first, second, (TOWELS,)])
    assert progress.complete and progress.shipped == tuple(ORDER)


def test_an_empty_shipment_ships_whatever_was_still_to_come() -> None:
    progress = shipment_progress(ORDER, [(UpdateLine("Whole Milk 1 gal", Decimal(2)),), ()])
    assert progress.complete
    assert progress.shipped == tuple(ORDER)


def test_more_shipped_than_ordered_or_unknown_lines_never_go_negative() -> None:
    too_many = (UpdateLine("Whole Milk 1 gal", Decimal(5)), UpdateLine("Caviar", Decimal(1)))
    progress = shipment_progress(ORDER, [too_many])
    assert progress.pending == (BREAD, TOWELS)
    assert progress.shipped == (MILK,)


def test_change_keys_are_stable_and_tell_changes_apart() -> None:
    assert change_key("fulfillment", 1, "1Z1") == change_key("fulfillment", 1, "1Z1")
    assert change_key("fulfillment", 1, "1Z1") != change_key("fulfillment", 1, "1Z2")
    assert len(change_key("refund", "re_1")) == 32
