"""Secrets from the OS keyring, or from RECEIPTDESK_<PROVIDER>_<FIELD> for headless deployments.

A service finds each RECEIPTDESK_<PROVIDER>_<FIELD> in its environment, or as a file of that name in
the folder CREDENTIALS_DIRECTORY names: systemd's credentials (`LoadCredential=`), or on Windows a
folder only administrators and the service account can read. Nothing here ever logs or prints a
secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from app.domain.errors import ConfigurationError

SERVICE = "receiptdesk"

KEYRING_FIX = (
    "No usable keyring on this machine, so secrets cannot be stored. Either run inside a desktop session "
    "with a Secret Service (e.g. `apt install gnome-keyring`, then unlock it), or pick a file backend "
    "explicitly: `pip install keyrings.alt` and set PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring; "
    "on a headless hub, set RECEIPTDESK_<PROVIDER>_<FIELD> environment variables instead."
)


CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"


def env_name(provider: str, field: str) -> str:
    return f"RECEIPTDESK_{provider}_{field}".upper().replace("-", "_")


def credential_file(env: Mapping[str, str], name: str) -> str | None:
    """The secret in the file `name` of the CREDENTIALS_DIRECTORY folder, if any (a BOM and final newline cut)."""
    folder = env.get(CREDENTIALS_DIRECTORY)
    if not folder or not name.isidentifier():
        return None
    try:
        value = (Path(folder) / name).read_text(encoding="utf-8-sig").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def keyring_problem(backend: KeyringBackend | None = None) -> str | None:
    """Why the keyring cannot store secrets here, or None when it can."""
    backend = backend or keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if name.startswith("keyring.backends.fail") or name.startswith("keyring.backends.null"):
        return KEYRING_FIX
    if name == "keyring.backends.chainer.ChainerBackend" and not getattr(backend, "backends", None):
        return KEYRING_FIX
    return None


class SecretStore:
    """Looks a secret up in the environment first, then in the keyring."""

    def __init__(self, *, env: Mapping[str, str] | None = None, backend: KeyringBackend | None = None) -> None:
        self._env = env if env is not None else os.environ
        self._backend = backend

    @property
    def backend(self) -> KeyringBackend:
        return self._backend or keyring.get_keyring()

    def get(self, provider: str, field: str) -> str | None:
        name = env_name(provider, field)
        from_env = self._env.get(name) or credential_file(self._env, name)
        if from_env:
            return from_env
        if keyring_problem(self.backend) is not None:
            return None
        try:
            return self.backend.get_password(SERVICE, f"{provider}.{field}")
        except keyring.errors.KeyringError:
            return None

    def set(self, provider: str, field: str, value: str) -> None:
        """Store a secret in the keyring, or raise `ConfigurationError` saying how to make that possible."""
        if not value:
            raise ConfigurationError("An empty secret was given; nothing was stored.")
        problem = keyring_problem(self.backend)
        if problem:
            raise ConfigurationError(problem)
        try:
            self.backend.set_password(SERVICE, f"{provider}.{field}", value)
        except keyring.errors.KeyringError as exc:
            raise ConfigurationError(f"The keyring refused the secret ({type(exc).__name__}). {KEYRING_FIX}") from None

    def delete(self, provider: str, field: str) -> None:
        try:
            self.backend.delete_password(SERVICE, f"{provider}.{field}")
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise ConfigurationError(f"The keyring refused ({type(exc).__name__}). {KEYRING_FIX}") from None

    def for_provider(self, provider: str, fields: tuple[str, ...]) -> dict[str, str | None]:
        return {f: self.get(provider, f) for f in fields}
