"""The composition root: settings, secrets, database, one HTTP client, adapters, services.

Faces (the kiosk, the local API, the CLI) receive a `Runtime` and talk to its services only.
`runtime` builds and closes it; `edges` wires the provider adapters, status callbacks and platform
triggers from their registries; `devices` wires the printer, the scanner and print-stream capture;
`database_only` opens the database alone, for the commands that need nothing else.

Each name below is imported from its module when first used, so that a command which needs only
the database does not load the web framework, the providers and the devices.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime, open_database, open_database_runtime
    from app.main.devices import build_capture, build_printer, build_printer_device, build_scanning
    from app.main.edges import build_adapters
    from app.main.runtime import HTTP_LIMITS, HTTP_TIMEOUT, Runtime, build_runtime, settle_heap

_HOMES = {
    "HTTP_LIMITS": "runtime",
    "HTTP_TIMEOUT": "runtime",
    "Runtime": "runtime",
    "build_runtime": "runtime",
    "settle_heap": "runtime",
    "build_adapters": "edges",
    "build_capture": "devices",
    "build_printer": "devices",
    "build_printer_device": "devices",
    "build_scanning": "devices",
    "DatabaseRuntime": "database_only",
    "open_database": "database_only",
    "open_database_runtime": "database_only",
}
"""Where each name of the package lives: `app.main.<module>`."""

__all__ = [
    "HTTP_LIMITS",
    "HTTP_TIMEOUT",
    "DatabaseRuntime",
    "Runtime",
    "build_adapters",
    "build_capture",
    "build_printer",
    "build_printer_device",
    "build_runtime",
    "build_scanning",
    "open_database",
    "open_database_runtime",
    "settle_heap",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
