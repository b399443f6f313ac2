"""Wiring of `receiptdesk doctor`: read the settings, the keyring and the registries, build what is
configured (sending nothing, migrating nothing), and run the checks of `app.services.doctor`."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.config.paths import data_dir, database_url
from app.config.secrets import SERVICE, SecretStore, env_name, keyring_problem
from app.config.settings import Settings, load_settings, store_problem
from app.devices.printer import Printer
from app.domain.clock import Clock, utcnow
from app.domain.errors import ConfigurationError, ReceiptDeskError
from app.main.devices import build_printer_device
from app.main.edges import adapter_section, configured_providers
from app.providers.base import HttpAdapter
from app.providers.callback_registry import CALLBACKS
from app.providers.registry import adapter_class
from app.services.doctor import (
    Check,
    Report,
    Status,
    clock_check,
    credential_checks,
    database_check,
    keyring_check,
    needed_secrets,
    port_check,
    printer_check,
    secret_checks,
    settings_check,
    store_check,
)
from app.triggers.catchup import POLLERS

DOCTOR_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


async def run_doctor(
    config: Path, *, must_exist: bool = False, data: str | Path | None = None, clock: Clock = utcnow
) -> Report:
    """Every check, in order: settings, store, keyring, secrets, database, credentials, clock, printer, port."""
    local = await asyncio.to_thread(_read_local, config, must_exist)
    checks = list(local.checks)
    settings = local.settings
    if settings is None:
        checks.append(Check("the rest", Status.SKIP, "Not checked: the settings file has to load first."))
        return Report(tuple(checks))
    checks.append(await _database(settings, data))

    async with httpx.AsyncClient(timeout=DOCTOR_TIMEOUT) as http:
        adapters: dict[str, HttpAdapter | ReceiptDeskError | str] = {}
        for provider, secrets in local.secrets.items():
            if provider in local.missing:
                adapters[provider] = "a secret it needs is not set."
                continue
            try:
                section = adapter_section(settings, provider)
                section.pop("rate_per_sec", None)
                adapters[provider] = adapter_class(provider).create(http, section, secrets)
            except ConfigurationError as exc:
                adapters[provider] = exc
        credentials, readings = await credential_checks(adapters, clock=clock)
    checks.extend(credentials)
    checks.append(clock_check(readings))

    printer: Printer | ReceiptDeskError | None = None
    if settings.printer.enabled:
        try:
            printer = build_printer_device(settings.printer, data)
        except ConfigurationError as exc:
            printer = exc
    checks.append(await printer_check(printer))
    tls = bool(settings.api.tls_cert and settings.api.tls_key)
    checks.append(await port_check(settings.api.host, settings.api.port, tls=tls))
    return Report(tuple(checks))


@dataclass(frozen=True, slots=True)
class _Local:
    """What the settings file and the keyring said: their checks, the settings, each provider's secrets."""

    checks: tuple[Check, ...]
    settings: Settings | None = None
    secrets: dict[str, dict[str, str | None]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()  # providers without a secret they need


def _read_local(config: Path, must_exist: bool) -> _Local:
    """The settings, the keyring and the needed secrets (blocking: files and the keyring's D-Bus)."""
    try:
        settings = load_settings(config, must_exist=must_exist)
    except ConfigurationError as exc:
        return _Local((settings_check(str(config), exc.message, exists=config.exists()), _keyring(SecretStore())))
    store = SecretStore()
    checks = [settings_check(str(config), None, exists=config.exists()), store_check(store_problem(settings, config))]
    checks.append(_keyring(store))
    providers = configured_providers(settings)
    section = settings.providers
    needed = needed_secrets(
        providers=providers,
        platforms=settings.platforms,
        callbacks=[
            p
            for p in providers
            if p in CALLBACKS
            and (settings.api.public_url or any(f.name in section.get(p, {}) for f in CALLBACKS[p].setting_fields))
        ],
        polled=[p for p in settings.platforms if p in POLLERS] if settings.reconcile.enabled else [],
    )

    def found_in(owner: str, name: str) -> str | None:
        variable = env_name(owner, name)
        if os.environ.get(variable):
            return f"the environment ({variable})"
        return "the keyring" if store.get(owner, name) else None

    checks.extend(secret_checks(needed, found_in))
    missing = frozenset(n.owner for n in needed if n.missing is Status.FAIL and found_in(n.owner, n.name) is None)
    secrets: dict[str, dict[str, str | None]] = {}
    for provider in providers:
        try:
            names = tuple(f.name for f in adapter_class(provider).secret_fields)
        except ConfigurationError:  # an unknown provider: building it says so
            names = ()
        secrets[provider] = store.for_provider(provider, names)
    return _Local(tuple(checks), settings, secrets, missing)


def _keyring(store: SecretStore) -> Check:
    """The keyring backend, and whether it can hold secrets: by its kind, then by one harmless read."""
    backend = store.backend
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if keyring_problem(backend) is not None:
        return keyring_check(name, "it cannot store anything")
    try:
        backend.get_password(SERVICE, "doctor.probe")
    except Exception as exc:  # a locked Secret Service, a D-Bus without one, a file it cannot read
        return keyring_check(name, f"it refused a read: {type(exc).__name__}")
    return keyring_check(name, None)


async def _database(settings: Settings, data: str | Path | None) -> Check:
    try:
        url = database_url(data_dir(data), settings.database.url)
    except ConfigurationError as exc:
        return Check("database", Status.FAIL, exc.message)
    return await database_check(url, url.split("@")[-1])
