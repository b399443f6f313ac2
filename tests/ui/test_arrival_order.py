"""Sales reach the cashier's panel and the customer's screen in the order they came, whichever of their
loads ends first: the newer sale is never replaced by a slower load of the one before it.

Pins: with two sales rung up back to back, a first sale whose load ended last took the panel from the
second, and the customer's screen offered it: the previous customer's sale, to the next customer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.services.kiosk import KioskSale
from tests.ui.conftest import Drive, Kiosk, until


def test_a_slower_load_of_the_earlier_sale_never_follows_the_newer_one(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        service = kiosk.shell.ctx.kiosk
        real_sale = service.sale
        second_loaded = asyncio.Event()
        ids: list[str] = []

        async def sale(receipt_id: str, *args: Any, **kwargs: Any) -> KioskSale:
            loaded = await real_sale(receipt_id, *args, **kwargs)
            if ids and receipt_id == ids[0]:
                await second_loaded.wait()  # the first sale's load ends after the second's
            elif len(ids) > 1 and receipt_id == ids[1]:
                second_loaded.set()
            return loaded

        service.sale = sale  # type: ignore[method-assign]
        first = await kiosk.post_sale(customer=None)
        ids.append(first.receipt_id)
        second = await kiosk.post_sale(customer=None)
        ids.append(second.receipt_id)
        cashier, customer = kiosk.shell.cashier, kiosk.shell.customer
        model = cashier.sales.model
        listed = (first.receipt_id, second.receipt_id)
        await until(lambda: all(model.find(receipt) >= 0 for receipt in listed), what="both listed")
        assert second_loaded.is_set()
        assert cashier.panel.sale is not None and cashier.panel.sale.receipt_id == second.receipt_id
        assert model.newest() == second.receipt_id
        # the customer's screen offered the first sale, then the second waits for its turn: never the reverse
        assert customer.session is not None and customer.session.sale.receipt_id == first.receipt_id

    drive(body)
