"""The settings and the database, and nothing else: for commands that only read and write records.

`build_runtime` wires every service over one HTTP client (the web framework, every provider and
platform, checkout, the devices); `managers list` or `audit verify` needs none of it, and starts in
a fraction of the time without it. Both open the database through `open_database`: the same file in
the same data folder, the same migration to the current schema, the same one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config.paths import data_dir, database_url
from app.config.settings import Settings
from app.domain.capture import Layout, build_layout
from app.domain.errors import ConfigurationError, ReceiptDeskError, Unavailable
from app.storage import schema
from app.storage.database import Database

if TYPE_CHECKING:
    from app.services.receipts import ReceiptService
    from app.services.retention import RetentionService


@dataclass
class DatabaseRuntime:
    """The settings and the open database, with the few services built over nothing more.

    Each service is built as `build_runtime` builds it, when first asked for; `close()` closes the database.
    """

    settings: Settings
    db: Database

    @cached_property
    def receipts(self) -> ReceiptService:
        """Receipts, the outbox and the audit chain: reading, and queueing deliveries again.

        Routed as `build_runtime` routes (the settings, and print when `[printer]` is on), though no
        adapter is built: a command that sends, or checks a device, takes the whole runtime.
        """
        from app.config.settings import routing_of
        from app.domain.channels import Channel
        from app.domain.routing import Routing
        from app.domain.text_limits import TextLimits
        from app.services.bus import EventBus
        from app.services.receipts import ReceiptService

        routing = routing_of(self.settings)
        if self.settings.printer.enabled:
            from app.services.printing import PRINTER_PROVIDER

            routing = Routing({Channel.PRINT: (PRINTER_PROVIDER,), **routing.chains})
        return ReceiptService(self.db, routing.primaries(), EventBus(), texts=TextLimits.of(self.settings.texts))

    @cached_property
    def retention(self) -> RetentionService:
        """What is kept how long, the purge and legal holds, in the store's time zone."""
        from app.services.retention import RetentionService, store_zone

        store = self.settings.store
        return RetentionService(self.db, self.settings.retention, zone=store_zone(store.timezone), store_id=store.id)

    def close(self) -> None:
        self.db.close()


def open_database_runtime(settings: Settings, data: str | Path | None = None) -> DatabaseRuntime:
    """The settings and the configured database, opened (and migrated) as `build_runtime` opens it, and
    refused for the settings it refuses (see `refuse_provider_settings` and `capture_reading`)."""
    db = open_database(settings, data)
    try:
        refuse_provider_settings(settings)
        capture_reading(settings)
    except Exception:
        db.close()
        raise
    return DatabaseRuntime(settings, db)


def refuse_provider_settings(settings: Settings) -> None:
    """Refuse, in the same line, what `build_runtime` refuses even when it sends nothing: a provider the
    settings route or follow up through that ReceiptDesk does not know, and a `[providers.<id>]` section
    holding one of its secrets (whose place is the keyring).

    The providers' registry is imported only when the settings file names a provider ([routing],
    [followups] or a [providers.<id>] section): the default routing's providers are the registry's own,
    and with no section there is no secret to find.
    """
    f = settings.followups
    if not ("routing" in settings.model_fields_set or f.after_delivery or f.daily_summary or settings.providers):
        return
    from app.main.edges import adapter_section, configured_providers

    for provider_id in configured_providers(settings):
        adapter_section(settings, provider_id)


def capture_reading(settings: Settings) -> tuple[ZoneInfo | None, Layout]:
    """How print-stream capture reads a receipt: `[capture] timezone` and `[capture.layout]`; a wrong one is
    refused in one line (by every command that builds the runtime, whether or not capture is on)."""
    c = settings.capture
    try:
        tz = ZoneInfo(c.timezone) if c.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"[capture] timezone {c.timezone!r} is not a known time zone.") from None
    return tz, build_layout(c.layout.preset, c.layout.patterns)


def open_database(settings: Settings, data: str | Path | None = None) -> Database:
    """Open (and migrate) the configured database."""
    url = database_url(data_dir(data), settings.database.url)
    try:
        db = Database(url)
    except Exception as exc:
        raise _database_problem(url, exc) from exc
    try:
        schema.upgrade(db.write_engine)
    except Exception as exc:
        db.close()
        raise _database_problem(url, exc) from exc
    return db


def _database_problem(url: str, exc: Exception) -> ReceiptDeskError:
    """One line for a database that cannot be opened; `Unavailable` when its server cannot be reached."""
    from sqlalchemy import exc as sql

    where = _safe_url(url)
    if isinstance(exc, ImportError):
        return ConfigurationError(f"The database {where} needs a driver that is not installed ({exc.name}).")
    if isinstance(exc, sql.ArgumentError | sql.NoSuchModuleError):
        return ConfigurationError(
            f"The database URL {where} is not one ReceiptDesk can use: "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME."
        )
    cause = exc.orig if isinstance(exc, sql.DBAPIError) and exc.orig is not None else exc
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
    if isinstance(exc, sql.OperationalError) and not url.startswith("sqlite"):
        return Unavailable(f"Cannot reach the database {where}: {first}")
    return ConfigurationError(f"Cannot open the database ({where}): {type(cause).__name__}: {first}")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
