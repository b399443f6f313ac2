"""The composition root: settings, secrets, database, one HTTP client, adapters, services.

Faces (the kiosk, the local API, the CLI) receive a `Runtime` and talk to its services only.
`runtime` builds and closes it; `edges` wires the provider adapters, status callbacks and platform
triggers from their registries; `devices` wires the printer, the scanner and print-stream capture.
"""

from app.main.devices import build_capture, build_printer, build_printer_device, build_scanning
from app.main.edges import build_adapters
from app.main.runtime import HTTP_LIMITS, HTTP_TIMEOUT, Runtime, build_runtime, open_database, settle_heap

__all__ = [
    "HTTP_LIMITS",
    "HTTP_TIMEOUT",
    "Runtime",
    "build_adapters",
    "build_capture",
    "build_printer",
    "build_printer_device",
    "build_runtime",
    "build_scanning",
    "open_database",
    "settle_heap",
]
