"""What every command shares: the settings, the runtime, the data folder's lock, times.

A command that only reads and writes records runs `with_database` (the settings and the database);
one that sends, serves or reaches a device runs `with_runtime` (every service). Neither loads its
modules until a command asks for it, so that every command starts as fast as what it uses allows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from app.config.instance import InstanceLock
from app.config.paths import data_dir, default_config_file
from app.domain.errors import ConfigurationError, ValidationFailed

if TYPE_CHECKING:
    from app.config.settings import Settings
    from app.main.database_only import DatabaseRuntime
    from app.main.runtime import Runtime

T = TypeVar("T")


def hold_data_folder(args: argparse.Namespace) -> contextlib.AbstractContextManager[object]:
    """The data folder's lock for the run of a demo given --data-dir (without one, its folder is its own)."""
    return InstanceLock(data_dir(args.data_dir)) if args.data_dir is not None else contextlib.nullcontext()


def kiosk_runner() -> Callable[..., int]:
    """`run_kiosk`, or one line saying how to install the kiosk: a core install (a hub) has no Qt."""
    try:
        from app.ui_launch import run_kiosk
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("PySide6", "shiboken6", "qasync"):
            raise
        raise ConfigurationError(
            "The kiosk is not installed (this installation has no Qt): pip install 'receiptdesk[kiosk]'; "
            "`receiptdesk serve` and `receiptdesk demo --headless` run without it."
        ) from None
    return run_kiosk


def settings_of(args: argparse.Namespace) -> Settings:
    from app.config.settings import load_settings

    path = args.config or default_config_file()
    return load_settings(path, must_exist=args.config is not None)


def with_runtime(args: argparse.Namespace, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `fn` over every service (sending nothing: providers not set up are left out), then close them."""
    from app.main.runtime import build_runtime

    async def body() -> T:
        runtime = build_runtime(settings_of(args), data=args.data_dir, sending=False)
        try:
            return await fn(runtime)
        finally:
            await runtime.close()

    return asyncio.run(body())


def with_database(args: argparse.Namespace, fn: Callable[[DatabaseRuntime], Awaitable[T]]) -> T:
    """Run `fn` over the settings and the database (opened and migrated as for `with_runtime`), then close it."""
    from app.main.database_only import open_database_runtime

    async def body() -> T:
        runtime = open_database_runtime(settings_of(args), args.data_dir)
        try:
            return await fn(runtime)
        finally:
            runtime.close()

    return asyncio.run(body())


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"--{name}: {value!r} is not an ISO 8601 date or time.") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def os_actor() -> str:
    """Who the audit log names for a command: the operating-system user running it (`os:alice`)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no user name in the environment nor in the password database
        name = ""
    if not name and hasattr(os, "getuid"):
        name = f"uid {os.getuid()}"
    return f"os:{name or 'unknown'}"[:64]
