"""The high-contrast switch shows everywhere at once: framed cards, coloured words and coloured list
items take the other palette's colours with no restart, and every text pair stays legible."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

import app.ui
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk.views import DeliveryView
from app.ui import palette, theme
from app.ui.contrast import ContrastSwitch
from tests.ui.conftest import Drive, Kiosk, until


@pytest.fixture
def standard_palette(qapp: QApplication) -> Iterator[None]:
    """Whatever a test switches, the next test starts with the standard palette."""
    yield
    theme.apply(qapp, high=False)


def text_colour(label: QLabel) -> str:
    """The colour the label's text is drawn in, as the style sheet resolved it."""
    label.ensurePolished()
    return label.palette().color(label.foregroundRole()).name()


def edge_colour(frame: QWidget) -> str:
    """The colour of the frame's left border, halfway down, as drawn."""
    frame.resize(400, 120)
    image = frame.grab().toImage()
    return image.pixelColor(0, image.height() // 2).name()


def test_switching_recolours_what_had_its_own_colours(drive: Drive, qapp: QApplication, standard_palette: None) -> None:
    async def body(kiosk: Kiosk) -> None:
        shell = kiosk.shell
        switch: ContrastSwitch = shell.contrast
        online = shell.cashier.status_panel._online
        await until(lambda: online.property("hint") == "good", what="the status bar saying online")
        alarm = shell.manager.health.facts["alarm"]
        warning = shell.manager.health.facts["warning"]
        latest = shell.monitor.latest
        assert latest is not None
        shell.manager.health.show_health(replace(latest, alarms=("The queue is stuck.",), warnings=("Two held.",)))
        consent = shell.customer.confirm.consent_box
        table = shell.cashier.panel.deliveries
        table.set_deliveries((DeliveryView("d-1", Channel.SMS, "(***) ***-0142", DeliveryState.FAILED, 1, None),))

        def seen() -> dict[str, str]:
            state = table.item(0, 2)
            assert state is not None
            return {
                "online": text_colour(online),
                "alarm": text_colour(alarm),
                "warning": text_colour(warning),
                "consent edge": edge_colour(consent),
                "delivery state": state.foreground().color().name(),
                "delivery state expected": theme.colour_of(str(state.data(theme.COLOUR_ROLE))).name(),
            }

        standard = seen()
        assert standard["online"] == palette.STANDARD["GOOD"]
        assert (standard["alarm"], standard["warning"]) == (palette.STANDARD["BAD"], palette.STANDARD["WARN"])
        assert standard["delivery state"] == standard["delivery state expected"]
        switch.action.trigger()
        high = seen()
        assert high["online"] == palette.HIGH_CONTRAST["GOOD"]
        assert (high["alarm"], high["warning"]) == (palette.HIGH_CONTRAST["BAD"], palette.HIGH_CONTRAST["WARN"])
        assert high["consent edge"] == palette.HIGH_CONTRAST["LINE"] != standard["consent edge"]
        assert high["delivery state"] == high["delivery state expected"]
        assert high["delivery state"] == palette.HIGH_CONTRAST_STATES["failed"] != standard["delivery state"]
        switch.action.trigger()
        assert seen() == standard

    drive(body)


def test_no_widget_keeps_a_colour_of_its_own() -> None:
    """Colours come from the sheet or `theme.colour_item`, so a switch reaches them: no inline colour."""
    inline = [
        f"{path.name}:{n}"
        for path in Path(app.ui.__file__).parent.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "setStyleSheet(" in line and ("theme." in line or "color" in line or "background" in line)
    ]
    assert inline == []
