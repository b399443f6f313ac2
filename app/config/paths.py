"""Where ReceiptDesk keeps its files, per platform (via `platformdirs`)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP = "receiptdesk"


def data_dir(override: str | Path | None = None) -> Path:
    """`--data-dir`, else RECEIPTDESK_DATA_DIR, else the platform data directory."""
    chosen = override or os.environ.get("RECEIPTDESK_DATA_DIR") or user_data_dir(APP, appauthor=False)
    path = Path(chosen).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_config_file() -> Path:
    return Path(user_config_dir(APP, appauthor=False)) / "receiptdesk.toml"


def database_url(data: Path, override: str | None = None) -> str:
    """RECEIPTDESK_DB_URL (or the settings file's url), else SQLite in the data directory."""
    url = os.environ.get("RECEIPTDESK_DB_URL") or override
    return url or f"sqlite:///{data / 'receiptdesk.db'}"
