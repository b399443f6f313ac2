"""What a plug-in (provider adapter, status callback, platform trigger) declares about its set-up.

These are class data: the settings screens, the CLI's `secrets` help, the wiring and the checks
that refuse a secret written into the settings file all read them, so none of those lists a
provider or a platform by name.
"""

from __future__ import annotations

from dataclasses import dataclass


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
