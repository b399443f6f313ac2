"""This kiosk's own display preferences (`kiosk.toml` beside the settings file).

Kept apart from `Settings` (which refuses unknown sections): which screen faces the customer and
how long the customer screen waits before it starts over, and whether the windows use the
high-contrast palette.
"""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.config.settings_writer import dumps_toml
from app.domain.errors import ConfigurationError

SAME_SCREEN = -1
"""`customer_screen` value: the customer uses the cashier's screen, in turn."""


@dataclass(frozen=True, slots=True)
class KioskPrefs:
    """Display preferences of one kiosk."""

    customer_screen: int = SAME_SCREEN
    idle_timeout_s: float = 45.0
    done_return_s: float = 5.0
    high_contrast: bool = False

    def with_changes(self, **changes: object) -> KioskPrefs:
        """A copy with `changes` applied."""
        return replace(self, **changes)  # type: ignore[arg-type]


def prefs_path(settings_path: Path) -> Path:
    """Where the kiosk preferences live for a given settings file."""
    return settings_path.with_name("kiosk.toml")


def load_prefs(path: Path) -> KioskPrefs:
    """The preferences at `path`, or the defaults when there is no (readable) file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("kiosk", {})
    except (OSError, tomllib.TOMLDecodeError):
        return KioskPrefs()
    known = {k: v for k, v in data.items() if k in KioskPrefs.__dataclass_fields__}
    try:
        prefs = KioskPrefs(**known)
        return replace(
            prefs,
            customer_screen=int(prefs.customer_screen),
            idle_timeout_s=float(prefs.idle_timeout_s),
            done_return_s=float(prefs.done_return_s),
            high_contrast=prefs.high_contrast is True,
        )
    except (TypeError, ValueError):
        return KioskPrefs()


async def save_prefs(path: Path, prefs: KioskPrefs) -> None:
    """Write the preferences (off the event loop)."""

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps_toml({"kiosk": asdict(prefs)}), encoding="utf-8")

    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        raise ConfigurationError(f"Cannot save the kiosk preferences to {path}: {exc.strerror}.") from None
