"""The kiosk's two palettes (standard and high contrast) and the WCAG arithmetic that keeps them legible.

Every pair of colours the style sheet and the widgets draw text or controls with is listed in
`PAIRS`, so a test can hold each palette to WCAG 2.1 AA (4.5:1 for text, 3:1 for large text and
for the edges of controls): https://www.w3.org/TR/WCAG21/#contrast-minimum and
https://www.w3.org/TR/WCAG21/#non-text-contrast. Disabled controls are exempt there, and here.
Pure Python: no Qt.
"""

from __future__ import annotations

from typing import Final, Literal

Use = Literal["text", "large", "ui", "bar"]

STANDARD: Final[dict[str, str]] = {
    "INK": "#1d2733",  # body text
    "MUTED": "#4f5b68",  # secondary text
    "PAPER": "#f6f7f9",  # window background
    "CARD": "#ffffff",  # fields, tables, group boxes
    "ROW_ALT": "#f2f4f7",  # alternate table rows
    "SELECTION": "#dcebe2",  # selected rows (text keeps its colour)
    "HEADER": "#eef0f3",  # table headers, status bar
    "LINE": "#d5dae1",  # decorative dividers: group boxes, headers
    "FIELD_LINE": "#808a96",  # the edge of a field or button: 3:1 against its surroundings
    "ACCENT": "#1f6f4a",
    "ACCENT_DARK": "#17573a",
    "ON_ACCENT": "#ffffff",  # text on an accent button
    "PRESSED": "#e3efe8",
    "WARN": "#8a5a00",
    "BAD": "#b3261e",
    "GOOD": "#1f6f4a",
    "BANNER": "#fdecea",
    "BANNER_EDGE": "#f1b8b3",
    "ON_BANNER": "#7f1d1d",
    "PROGRESS": "#55a277",  # a progress bar's fill: 3:1 against the track, 4.5:1 under its INK text
    "DISABLED": "#eef0f3",
    "ON_DISABLED": "#8a939c",
}
"""Calm greys and a green accent; every text pair at least AA."""

HIGH_CONTRAST: Final[dict[str, str]] = {
    "INK": "#000000",
    "MUTED": "#1f1f1f",
    "PAPER": "#ffffff",
    "CARD": "#ffffff",
    "ROW_ALT": "#f0f0f0",
    "SELECTION": "#ffe94d",
    "HEADER": "#e6e6e6",
    "LINE": "#000000",
    "FIELD_LINE": "#000000",
    "ACCENT": "#003d22",
    "ACCENT_DARK": "#000000",
    "ON_ACCENT": "#ffffff",
    "PRESSED": "#ffe94d",
    "WARN": "#5c3a00",
    "BAD": "#8c0000",
    "GOOD": "#003d22",
    "BANNER": "#ffffff",
    "BANNER_EDGE": "#8c0000",
    "ON_BANNER": "#8c0000",
    "PROGRESS": "#949494",  # black on it 6.9:1 (AA), it on white 3:1: no grey does both at 7:1
    "DISABLED": "#e6e6e6",
    "ON_DISABLED": "#4d4d4d",
}
"""Black on white, yellow selection, dark state colours: every text pair at least 7:1 (AAA)."""

STANDARD_STATES: Final[dict[str, str]] = {
    "queued": "#5b6775",
    "sending": "#2d62a8",
    "sent": "#1e6b47",
    "delivered": "#165c3a",
    "unknown": "#8a5a00",
    "bounced": "#a8380a",
    "failed": "#b3261e",
    "dead": "#6b1b16",
}
"""One colour per delivery state (text in lists, chips, chart bars)."""

HIGH_CONTRAST_STATES: Final[dict[str, str]] = {
    "queued": "#333333",
    "sending": "#002c66",
    "sent": "#00401f",
    "delivered": "#002e16",
    "unknown": "#4d3000",
    "bounced": "#6b1e00",
    "failed": "#8c0000",
    "dead": "#4d0000",
}

TEXT_GROUNDS: Final = ("CARD", "ROW_ALT", "SELECTION")
"""What a row's text (state words included) can stand on: a table row, plain, alternate or selected."""

PAIRS: Final[tuple[tuple[str, str, Use], ...]] = (
    *((fg, bg, "text") for fg in ("INK", "MUTED") for bg in ("PAPER", "CARD", "ROW_ALT", "SELECTION", "HEADER")),
    *((fg, bg, "text") for fg in ("WARN", "BAD", "GOOD") for bg in ("PAPER", "HEADER", *TEXT_GROUNDS)),
    ("ON_ACCENT", "ACCENT", "text"),
    ("ON_ACCENT", "ACCENT_DARK", "text"),
    ("INK", "PRESSED", "text"),
    ("ON_BANNER", "BANNER", "text"),
    ("INK", "PROGRESS", "bar"),  # the export bar's "100%"
    ("PROGRESS", "CARD", "ui"),
    ("FIELD_LINE", "CARD", "ui"),
    ("FIELD_LINE", "PAPER", "ui"),
    ("ACCENT", "CARD", "ui"),  # focus rings
    ("ACCENT", "PAPER", "ui"),
)
"""(foreground, background, use) for every pair the style sheet and the widgets draw."""

MINIMUM: Final[dict[Use, float]] = {"text": 4.5, "large": 3.0, "ui": 3.0, "bar": 4.5}
"""WCAG 2.1 AA minimum contrast per use (`bar`: text over a progress bar's fill, held to AA in both palettes)."""


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb` (WCAG 2.1 definition)."""
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, 1.0 to 21.0."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def shortfalls(
    colours: dict[str, str], states: dict[str, str], *, text: float = MINIMUM["text"]
) -> list[tuple[str, str, float, float]]:
    """Every pair below its minimum, `text` being the one for text (7.0 asks AAA):
    (foreground, background, ratio, needed)."""
    need = {**MINIMUM, "text": text}
    pairs = [(colours[fg], colours[bg], fg, bg, need[use]) for fg, bg, use in PAIRS]
    pairs += [(colour, colours[bg], state, bg, text) for state, colour in states.items() for bg in TEXT_GROUNDS]
    pairs += [(colour, colours["CARD"], f"{state} bar", "CARD", need["ui"]) for state, colour in states.items()]
    return [
        (fg_name, bg_name, round(ratio, 2), minimum)
        for fg, bg, fg_name, bg_name, minimum in pairs
        if (ratio := contrast(fg, bg)) < minimum
    ]
