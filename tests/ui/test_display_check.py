"""The kiosk checks for a display before Qt starts (Qt would abort blaming a library)."""

from __future__ import annotations

import pytest

from app.ui_launch import display_problem


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "DISPLAY and WAYLAND_DISPLAY are"),
        ({"QT_QPA_PLATFORM": "xcb"}, "DISPLAY is"),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "WAYLAND_DISPLAY is"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "DISPLAY and WAYLAND_DISPLAY are"),
    ],
)
def test_no_display_is_one_line_naming_the_ways_out(environ: dict[str, str], missing: str) -> None:
    problem = display_problem(environ, "linux")
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"No display for the kiosk: {missing} not set.")
    for way_out in ("Xvfb", "QT_QPA_PLATFORM=offscreen", "--headless", "receiptdesk serve"):
        assert way_out in problem


@pytest.mark.parametrize(
    "environ",
    [
        {"DISPLAY": ":0"},
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "vnc:size=1280x800"},
        {"QT_QPA_PLATFORM": "eglfs"},
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99"},
    ],
)
def test_a_display_or_a_platform_that_needs_none_passes(environ: dict[str, str]) -> None:
    assert display_problem(environ, "linux") is None


def test_only_linux_is_checked() -> None:
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None
