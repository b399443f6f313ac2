"""What a plug-in (provider adapter, status callback, platform trigger) declares about its set-up.

These are class data: the settings screens, the CLI's `secrets` help, the wiring and the checks
that refuse a secret written into the settings file all read them, so none of those lists a
provider or a platform by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class SecretField:
    """A credential: stored in the keyring (or `RECEIPTDESK_<OWNER>_<NAME>`), masked everywhere."""

    name: str
    label: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class SettingField:
    """A non-secret setting, read from the plug-in's section of the settings file."""

    name: str
    label: str
    required: bool = True


Field = SecretField | SettingField


def fields_set(source: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, Any]:
    """The declared fields that `source` sets: neither missing, None nor blank."""
    found = {f.name: source.get(f.name) for f in fields}
    return {name: value for name, value in found.items() if value is not None and str(value) != ""}


def require_fields(
    source: Mapping[str, Any], fields: Sequence[Field], *, label: str, owner: str, section: str
) -> dict[str, Any]:
    """`fields_set`, failing on a required field that is not set with one line saying where it goes.

    `label` names the plug-in in the message, `owner` is whose secrets they are (for
    `receiptdesk secrets set <owner> <name>`), `section` the settings file's section (`providers.x`).
    """
    given = fields_set(source, fields)
    missing = [f for f in fields if f.required and f.name not in given]
    if missing:
        names = ", ".join(f.name for f in missing)
        first = missing[0]
        where = (
            f"Store it with `receiptdesk secrets set {owner} {first.name}`."
            if isinstance(first, SecretField)
            else f"Set it in [{section}] of the settings file."
        )
        raise ConfigurationError(f"{label}: missing {names}. {where}")
    return given
