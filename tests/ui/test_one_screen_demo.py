"""The demo on one laptop screen (1366 x 768): the windows take turns, none over another, each usable."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from app.ui.arrange import COUNTER_WIDTH, FRAME, MANAGER_SIZE, TITLE_BAR
from app.ui.customer.flow import Step
from app.ui.shell import KioskShell
from tests.ui.conftest import Drive, Kiosk, until

SCREEN = QRect(0, 0, 1366, 768)


def shown(shell: KioskShell) -> dict[str, QWidget]:
    """The kiosk's windows on screen, by name."""
    named = {"cashier": shell.cashier, "customer": shell.customer, "manager": shell.manager}
    return {name: window for name, window in named.items() if window.isVisible()}


def assert_apart(shell: KioskShell) -> None:
    """Every window shown lies on the screen, framed as a window manager frames it, and over no other."""
    frames = [w.geometry().adjusted(-FRAME, -TITLE_BAR, FRAME, FRAME) for w in shown(shell).values()]
    assert all(SCREEN.contains(frame) for frame in frames), frames
    assert not any(a.intersects(b) for i, a in enumerate(frames) for b in frames[i + 1 :]), frames


def test_the_windows_take_turns_on_a_1366x768_screen(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        shell = kiosk.shell
        cashier, customer, manager = shell.cashier, shell.customer, shell.manager
        shell.arrange_windows(SCREEN)
        assert shown(shell).keys() == {"cashier"}
        assert cashier.width() >= COUNTER_WIDTH

        # a sale the customer chooses for: the customer's window takes the cashier's place
        await kiosk.post_sale(customer=None)
        await until(lambda: customer.step is Step.CHOOSE, what="the customer's turn")
        await until(lambda: shown(shell).keys() == {"customer"}, what="the customer's window in its turn")
        assert_apart(shell)
        customer.reset()  # the customer walked away: the turn ends
        await until(lambda: shown(shell).keys() == {"cashier"}, what="the cashier's window back")

        # the cashier's sale list fits without sideways scrolling
        table = cashier.sales.table
        await until(lambda: table.model().rowCount() >= 1, what="the sale listed")
        assert table.horizontalScrollBar().maximum() == 0 and not table.horizontalScrollBar().isVisible()
        assert cashier.panel.preview.width() >= 360  # room for the receipt's lines, no word broken

        # the manager's window takes the cashier's place; a sale arriving meanwhile waits for it
        manager.open()
        assert shown(shell).keys() == {"manager"}
        assert manager.width() >= MANAGER_SIZE[0] and manager.height() >= MANAGER_SIZE[1]
        assert_apart(shell)
        await kiosk.post_sale(customer=None)
        await until(lambda: customer.step is Step.CHOOSE, what="the next customer's turn")
        assert shown(shell).keys() == {"manager"}  # never over the manager
        manager.close()
        await until(lambda: shown(shell).keys() == {"customer"}, what="the customer's turn once the manager left")
        assert_apart(shell)
        customer.reset()
        await until(lambda: shown(shell).keys() == {"cashier"}, what="the cashier's window back")

    drive(body)
