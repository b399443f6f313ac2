"""Writing the settings file (TOML) back, and the async face the kiosk's settings screen uses.

The writer covers what `Settings` holds: tables of strings, numbers and booleans. The file is
replaced atomically, so a crash mid-save leaves the old file. Secrets never go to the file: they
go to the keyring through `SecretStore`.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.config.secrets import SecretStore, keyring_problem
from app.config.settings import Settings
from app.domain.audit import changed_keys
from app.domain.errors import ConfigurationError, ValidationFailed

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """TOML text for nested mappings of str, int, float, bool (None values are left out)."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in data.items() if v is not None and not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        _table(lines, (*path, str(key)), value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML settings hold finite numbers only")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def settings_data(settings: Settings) -> dict[str, Any]:
    """What goes in the file: every section, with unset optional values left out."""
    return settings.model_dump(mode="json", exclude_none=True)


def changed_settings(before: Settings, after: Settings) -> list[str]:
    """The dotted names of the settings that differ (`store.name`, `providers.twilio.from_number`): never a value."""
    return changed_keys(settings_data(before), settings_data(after))


def write_settings(path: Path, settings: Settings) -> None:
    """Replace the settings file at `path` with `settings`, atomically."""
    text = dumps_toml(settings_data(settings))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".receiptdesk-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SettingsStore:
    """The settings file and the keyring, for the settings screen; every call runs off the event loop."""

    def __init__(self, path: Path, secrets: SecretStore | None = None) -> None:
        self.path = path
        self._secrets = secrets or SecretStore()

    def validate(self, data: Mapping[str, Any]) -> Settings:
        """`Settings` from form data, or `ValidationFailed` naming the first bad field."""
        try:
            return Settings.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationFailed(f"{where}: {first['msg']}", field=where) from None

    async def save(self, settings: Settings) -> None:
        """Write the settings file; `ConfigurationError` when it cannot be written."""
        try:
            await asyncio.to_thread(write_settings, self.path, settings)
        except OSError as exc:
            raise ConfigurationError(f"Cannot save the settings to {self.path}: {exc.strerror}.") from None

    async def save_all(self, settings: Settings, secrets: Sequence[tuple[str, str, str]]) -> None:
        """Store `(owner, field, value)` secrets in the keyring, then write the settings file.

        With secrets to store and no usable keyring, nothing is saved (`ConfigurationError` saying
        how to make the keyring usable).
        """
        if secrets:
            problem = await self.keyring_problem()
            if problem:
                raise ConfigurationError(problem)
        for owner, field, value in secrets:
            await self.store_secret(owner, field, value)
        await self.save(settings)

    async def keyring_problem(self) -> str | None:
        """Why secrets cannot be stored on this machine, or None."""
        return await asyncio.to_thread(lambda: keyring_problem(self._secrets.backend))

    async def secret_stored(self, provider: str, field: str) -> bool:
        """Whether a value for this secret is available (keyring or environment); never the value."""
        return await asyncio.to_thread(lambda: self._secrets.get(provider, field) is not None)

    async def store_secret(self, provider: str, field: str, value: str) -> None:
        """Put one secret in the keyring (`ConfigurationError` saying how to fix the keyring otherwise)."""
        await asyncio.to_thread(self._secrets.set, provider, field, value)

    async def secret(self, provider: str, field: str) -> str | None:
        """One secret's value, for the few callers that need it (the single manager PIN of earlier versions)."""
        return await asyncio.to_thread(self._secrets.get, provider, field)

    async def delete_secret(self, provider: str, field: str) -> None:
        """Take one secret out of the keyring (`ConfigurationError` when the keyring refuses)."""
        await asyncio.to_thread(self._secrets.delete, provider, field)
