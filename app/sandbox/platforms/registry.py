"""Every commerce platform the sandbox plays, found in `app/sandbox/platforms/`, by platform id."""

from __future__ import annotations

import app.sandbox.platforms
from app.sandbox.platforms.base import PlatformStandIn
from app.support.plugins import discover

# mypy refuses an abstract class as `type[T]`; discover keeps only its concrete subclasses
STAND_INS: dict[str, type[PlatformStandIn]] = discover(
    app.sandbox.platforms,
    PlatformStandIn,  # type: ignore[type-abstract]
    key="platform",
)
"""Every platform stand-in class, by platform id."""
