"""The options of `receiptdesk demo --headless --lanes N`, checked before anything starts."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.errors import ValidationFailed

MIN_LANES, MAX_LANES = 2, 8
DEFAULT_SALES = 300
"""Sales per lane when `--sales` is not given."""
MAX_SALES = 5000
RATE = 10.0
"""Sales per second at each lane."""


@dataclass(frozen=True, slots=True)
class LanesOptions:
    lanes: int = 3
    sales: int = DEFAULT_SALES
    rate: float = RATE
    seed: int = 7
    hub_database: str | None = None  # the hub's database URL; None: SQLite in the demo's folder


def lanes_options(
    lanes: int,
    *,
    sales: int | None,
    headless: bool,
    in_process_sandbox: bool = False,
    sale_every: bool = False,
    hub_database: str | None = None,
) -> LanesOptions:
    """The lanes demo's options, or `ValidationFailed` with one sentence saying what to change."""
    if not headless:
        raise ValidationFailed("--lanes runs the headless demo: add --headless.")
    if not MIN_LANES <= lanes <= MAX_LANES:
        raise ValidationFailed(f"--lanes must be between {MIN_LANES} and {MAX_LANES}.")
    if sales is not None and not 1 <= sales <= MAX_SALES:
        raise ValidationFailed(f"--sales must be between 1 and {MAX_SALES:,} per lane with --lanes.")
    if in_process_sandbox:
        raise ValidationFailed("The lanes demo runs the sandbox as a process of its own: drop --in-process-sandbox.")
    if sale_every:
        raise ValidationFailed("--sale-every paces the kiosk demo; the lanes demo keeps its own pace.")
    if hub_database is not None and not hub_database.startswith(("postgresql", "sqlite")):
        raise ValidationFailed(
            "--hub-database takes a database URL such as postgresql+psycopg://user@host/db or sqlite:///hub.db."
        )
    return LanesOptions(lanes=lanes, sales=DEFAULT_SALES if sales is None else sales, hub_database=hub_database)
