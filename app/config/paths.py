"""Where ReceiptDesk keeps its files, per platform (via `platformdirs`)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from app.domain.errors import ConfigurationError

APP = "receiptdesk"


def data_dir(override: str | Path | None = None) -> Path:
    """`--data-dir`, else RECEIPTDESK_DATA_DIR, else the platform data directory."""
    chosen = override or os.environ.get("RECEIPTDESK_DATA_DIR") or user_data_dir(APP, appauthor=False)
    path = Path(chosen).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ConfigurationError(f"Cannot use {path} as the data folder: it is a file.") from exc
    except OSError as exc:
        raise ConfigurationError(f"Cannot use {path} as the data folder: {exc.strerror}.") from exc
    if not os.access(path, os.W_OK):
        raise ConfigurationError(f"Cannot use {path} as the data folder: this user cannot write in it.")
    return path


def default_config_file() -> Path:
    return Path(user_config_dir(APP, appauthor=False)) / "receiptdesk.toml"


def database_url(data: Path, override: str | None = None) -> str:
    """RECEIPTDESK_DB_URL (or the settings file's url), else SQLite in the data directory."""
    url = os.environ.get("RECEIPTDESK_DB_URL") or override
    return url or f"sqlite:///{data / 'receiptdesk.db'}"
