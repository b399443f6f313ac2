"""The composition root: settings, secrets, database, one HTTP client, adapters, services.

Faces (the kiosk, the local API, the CLI) receive a `Runtime` and talk to its services only.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from fastapi import FastAPI

from app.config.paths import data_dir, database_url
from app.config.secrets import SecretStore
from app.config.settings import Settings, routing_of
from app.devices.passthrough import SerialDevice, SerialPassthrough, TcpPassthrough
from app.devices.printer import DummyPrinter, NetworkPrinter, Printer, SerialPrinter
from app.devices.scanner import SerialScanner, parse_terminator
from app.domain.barcodes import BarcodeRules
from app.domain.capture import build_layout
from app.domain.channels import Channel
from app.domain.errors import ConfigurationError
from app.domain.printdoc import Paper, SaleCode
from app.domain.routing import Routing
from app.providers.base import ProviderAdapter
from app.providers.registry import adapter_class
from app.rendering.receipts import ReceiptRenderer
from app.rendering.updates import UpdateRenderer
from app.sandbox.accounts import accounts as sandbox_accounts
from app.sandbox.callbacks import SENDGRID_WEBHOOK_PUBLIC_KEY
from app.sandbox.fire import PLATFORM_SECRETS, platform_settings
from app.server.api import create_api
from app.services.bus import EventBus
from app.services.callbacks import CallbackSecrets, CallbackService
from app.services.capture import ByteSource, CaptureService
from app.services.checkout import CheckoutService
from app.services.dispatch import Dispatcher
from app.services.followups import FollowUpService
from app.services.health import HealthService
from app.services.intake import IntakeService
from app.services.lifecycle import LifecycleService
from app.services.printing import PRINTER_PROVIDER, PrinterAdapter
from app.services.receipts import ReceiptService
from app.services.reconcile import ReconcileService
from app.services.retry import RetryPolicy
from app.services.scanning import ScanningService
from app.services.tracking import TrackingService
from app.storage import schema
from app.storage.database import Database
from app.triggers.catchup import build_pollers
from app.triggers.registry import build_triggers

log = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# httpcore scans every pooled connection (with syscalls) on each request: a small pool is faster.
HTTP_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32)


def sandbox_settings(
    settings: Settings,
    sandbox_url: str,
    *,
    public_url: str | None = None,
    routing: Mapping[Channel, str | list[str]] | None = None,
) -> Settings:
    """The same settings, with every provider pointed at the local sandbox and its accounts.

    `routing` picks providers per channel (default: SendGrid for email, Twilio for SMS). With
    `public_url` (where this app's API listens) the sandbox's status callbacks are verified exactly
    as real ones: Twilio signs with the sandbox Auth Token, SendGrid with the sandbox key.
    """
    providers: dict[str, dict[str, Any]] = {
        provider: dict(account.settings)
        for provider, account in sandbox_accounts(sandbox_url, store_name=settings.store.name).items()
    }
    providers["sendgrid"]["webhook_public_key"] = SENDGRID_WEBHOOK_PUBLIC_KEY
    chosen: dict[Channel, str | list[str]] = dict(routing or {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"})
    api = settings.api.model_copy(update={"public_url": public_url}) if public_url else settings.api
    platforms: dict[str, dict[str, Any]] = dict(platform_settings(sandbox_url))  # order fetches and polls
    printer = settings.printer if settings.printer.enabled else settings.printer.model_copy(
        update={"enabled": True, "kind": "dummy"}  # "Print" works with no hardware: see `build_printer`
    )
    return settings.model_copy(
        update={"providers": providers, "routing": chosen, "api": api, "platforms": platforms, "printer": printer}
    )


def sandbox_secrets(sandbox_url: str) -> dict[str, dict[str, str]]:
    """The secrets of every sandbox account, by provider (they open only the local sandbox at `sandbox_url`)."""
    secrets = {provider: dict(account.secrets) for provider, account in sandbox_accounts(sandbox_url).items()}
    return {**secrets, **{platform: dict(values) for platform, values in PLATFORM_SECRETS.items()}}


def build_adapters(
    settings: Settings,
    http: httpx.AsyncClient,
    secrets: SecretStore | Mapping[str, Mapping[str, str]],
    *,
    strict: bool = True,
) -> tuple[dict[str, ProviderAdapter], dict[str, float | None]]:
    """One adapter per provider named in routing; their rate limits (settings override capabilities).

    With `strict=False` (tools that only read or queue) a provider whose credentials are missing is
    left out instead of stopping everything; a secret written into the settings file still stops it.
    """
    adapters: dict[str, ProviderAdapter] = {}
    rates: dict[str, float | None] = {}
    wanted = (*routing_of(settings).providers(), *settings.followups.after_delivery, *settings.followups.daily_summary)
    for provider_id in dict.fromkeys(wanted):
        cls = adapter_class(provider_id)
        section = {k: v for k, v in settings.providers.get(provider_id, {}).items() if not k.startswith("webhook_")}
        if provider_id == "twilio" and settings.api.public_url and "status_callback" not in section:
            section["status_callback"] = settings.api.public_url.rstrip("/") + "/webhooks/twilio/status"
        secret_names = tuple(f.name for f in cls.secret_fields)
        leaked = [k for k in section if k in secret_names]
        if leaked:
            raise ConfigurationError(
                f"[providers.{provider_id}] holds the secret {leaked[0]!r}: remove it from the settings file and "
                f"store it with `receiptdesk secrets set {provider_id} {leaked[0]}`."
            )
        rate = section.pop("rate_per_sec", None)
        if isinstance(secrets, SecretStore):
            values = secrets.for_provider(provider_id, secret_names)
        else:
            values = dict(secrets.get(provider_id, {}))
        try:
            adapters[provider_id] = cls.create(http, section, values)
        except ConfigurationError:
            if strict:
                raise
            log.info("%s is not set up; nothing will be sent through it from here", provider_id)
            continue
        rates[provider_id] = float(rate) if rate else (None if rate is not None else cls.capabilities.rate_per_sec)
    return adapters, rates


@dataclass
class Runtime:
    """Everything a face needs, built once; `close()` releases it in order."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    bus: EventBus
    checkout: CheckoutService
    receipts: ReceiptService
    dispatcher: Dispatcher
    health: HealthService
    tracking: TrackingService
    callbacks: CallbackService
    followups: FollowUpService
    intake: IntakeService
    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)
    reconcile: ReconcileService | None = None  # catch-up polls of the commerce platforms
    capture: CaptureService | None = None  # receipts read from a legacy POS's print stream
    capture_input: ByteSource | None = None  # its pass-through, when `[capture] enabled`
    lifecycle: LifecycleService | None = None  # shipped, cancelled and refunded orders after the receipt
    routing: Routing = field(default_factory=Routing)  # as built: the settings' plus the printer

    def start_dispatching(self) -> None:
        """Start the outbox workers and the follow-ups (CRM records, audit posts, daily summary)."""
        if not self.dispatcher.running:
            self.dispatcher.start()
            self.followups.start()
            if self.capture is not None and self.capture_input is not None:
                self.capture.launch(self.capture_input)
            if self.lifecycle is not None:
                self.lifecycle.start()  # and sends updates that waited for a receipt
            if self.reconcile is not None:
                self.reconcile.start()  # polls now (start-up), then every interval

    def local_api(self) -> FastAPI:
        """The local HTTP API over this runtime's services."""
        return create_api(
            self.checkout,
            self.receipts,
            self.health,
            max_body_bytes=self.settings.api.max_body_bytes,
            callbacks=self.callbacks,
            intake=self.intake,
            public_url=self.settings.api.public_url,
        )

    async def close(self) -> None:
        if self.capture is not None:
            await self.capture.stop()
        if self.reconcile is not None:
            await self.reconcile.stop()
        if self.lifecycle is not None:
            await self.lifecycle.stop()
        await self.followups.stop()
        await self.dispatcher.stop()
        await self.http.aclose()
        self.db.close()


def build_capture(
    settings: Settings, db: Database, checkout: CheckoutService, *, listen: bool
) -> tuple[CaptureService, ByteSource | None]:
    """Print-stream capture of `[capture]`; the pass-through only when enabled and `listen` (not for CLI tools)."""
    c = settings.capture
    try:
        tz = ZoneInfo(c.timezone) if c.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"[capture] timezone {c.timezone!r} is not a known time zone.") from None
    layout = build_layout(c.layout.preset, c.layout.patterns)
    service = CaptureService(db, checkout, layout, name=c.name, store_id=settings.store.id, lane=c.lane, tz=tz)
    if not (c.enabled and listen):
        return service, None
    if c.mode == "tcp":
        return service, TcpPassthrough(c.listen_host, c.listen_port, c.printer_host, c.printer_tcp_port, service.tap)
    pos, printer = SerialDevice(c.pos_port, baudrate=c.baud), SerialDevice(c.printer_port, baudrate=c.baud)
    return service, SerialPassthrough(pos, printer, service.tap, name=service.source)


def build_printer(settings: Settings, db: Database, bus: EventBus, data: str | Path | None) -> PrinterAdapter | None:
    """The PRINT channel's adapter over the `[printer]` device, or None when printing is off.

    A dummy printer appends each receipt's ESC/POS bytes to `spool` (default
    `<data dir>/printer/receipts.escpos`), where a test or a person can look at them.
    """
    p = settings.printer
    if not p.enabled:
        return None
    device: Printer
    if p.kind == "serial":
        device = SerialPrinter(p.port, p.baud, timeout=p.timeout_seconds, check_status=p.check_status)
    elif p.kind == "network":
        if not p.host:
            raise ConfigurationError("[printer] kind = \"network\" needs host = the printer's address.")
        device = NetworkPrinter(p.host, p.network_port, timeout=p.timeout_seconds, check_status=p.check_status)
    else:
        spool = Path(p.spool) if p.spool else data_dir(data) / "printer" / "receipts.escpos"
        device = DummyPrinter(spool=spool)
    return PrinterAdapter(db, device, settings.store.profile(), paper=Paper(p.paper), codes=SaleCode(p.codes), bus=bus)


def build_scanning(settings: Settings, bus: EventBus) -> ScanningService:
    """The scanning service of the `[scanner]` settings: classifying rules, and the serial scanner when enabled."""
    sc = settings.scanner
    try:
        rules = BarcodeRules(tuple(sc.loyalty_prefixes), tuple(sc.loyalty_patterns), sc.receipt_pattern)
        terminator = parse_terminator(sc.terminator)
    except ValueError as exc:
        raise ConfigurationError(f"[scanner]: {exc}") from None
    device = SerialScanner(sc.port, baudrate=sc.baud, terminator=terminator) if sc.enabled else None
    return ScanningService(bus, rules, device=device)


def settle_heap() -> None:
    """Move everything built at start-up out of the garbage collector's way.

    A full collection walks every tracked object; with the UI, the API and the SQL layer loaded that
    is hundreds of thousands, which stalled the event loop for about 200 ms on a 2-core terminal.
    Frozen objects are never scanned again, so later collections only see what the day creates.
    """
    gc.collect()
    gc.freeze()


def open_database(settings: Settings, data: str | Path | None = None) -> Database:
    """Open (and migrate) the configured database."""
    url = database_url(data_dir(data), settings.database.url)
    db = Database(url)
    try:
        schema.upgrade(db.write_engine)
    except Exception as exc:
        db.close()
        raise ConfigurationError(f"Cannot open the database ({_safe_url(url)}): {type(exc).__name__}: {exc}") from exc
    return db


def build_runtime(
    settings: Settings,
    *,
    data: str | Path | None = None,
    secrets: SecretStore | Mapping[str, Mapping[str, str]] | None = None,
    db: Database | None = None,
    owner: str | None = None,
    sending: bool = True,
) -> Runtime:
    """Wire every service. Call from inside the running event loop.

    `sending=False` is for tools that read receipts or only queue work (the CLI's `receipts` and `queue`
    commands): providers and platforms whose credentials are missing are then left out.
    """
    db = db or open_database(settings, data)
    http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS)
    try:
        adapters, rates = build_adapters(
            settings, http, secrets if secrets is not None else SecretStore(), strict=sending
        )
    except Exception:
        db.close()
        raise
    bus = EventBus()
    store = settings.store
    routing = routing_of(settings)
    printer = build_printer(settings, db, bus, data)
    if printer is not None:
        adapters[PRINTER_PROVIDER] = printer
        routing = Routing({Channel.PRINT: (PRINTER_PROVIDER,), **routing.chains})
    d = settings.dispatch
    policy = RetryPolicy(
        max_attempts=d.max_attempts,
        max_age=timedelta(hours=d.max_age_hours),
        base_delay=d.base_delay_seconds,
        max_delay=d.max_delay_seconds,
    )
    dispatcher = Dispatcher(
        db,
        adapters,
        bus,
        routing=routing,
        policy=policy,
        rates=rates,
        concurrency=d.concurrency,
        lease=timedelta(seconds=d.lease_seconds),
        owner=owner or f"{socket.gethostname()}-{os.getpid()}",
    )
    checkout = CheckoutService(
        db, ReceiptRenderer(), store.profile(), routing.primaries(), bus, default_language=store.default_language
    )
    receipts = ReceiptService(db, routing.primaries(), bus)
    tracking = TrackingService(db, routing.primaries(), bus, bounce_fallback=d.bounce_fallback)
    f = settings.followups
    followups = FollowUpService(
        db,
        bus,
        store_name=store.name,
        daily_at=f.daily_summary_at,
        after_delivery={p: adapters[p].capabilities.channel for p in f.after_delivery if p in adapters},
        daily_summary={p: adapters[p].capabilities.channel for p in f.daily_summary if p in adapters},
    )
    callbacks = CallbackService(tracking, _callback_secrets(settings, secrets))
    platforms = settings.platforms if sending else {}  # the CLI's tools take no webhooks
    triggers = build_triggers(platforms, http, _secret_getter(secrets), store_id=store.id)
    lifecycle = LifecycleService(db, UpdateRenderer(), store.profile(), routing.primaries(), bus)
    intake = IntakeService(db, checkout, triggers, lifecycle=lifecycle)
    capture, capture_input = build_capture(settings, db, checkout, listen=sending)
    pollers, not_polled = build_pollers(settings.platforms, http, _secret_getter(secrets), store_id=store.id)
    r = settings.reconcile
    reconcile = ReconcileService(
        db,
        intake,
        pollers,
        not_configured=not_polled,
        enabled=r.enabled,
        interval=timedelta(minutes=r.interval_minutes),
        lookback=timedelta(hours=r.lookback_hours),
        overlap=timedelta(minutes=r.overlap_minutes),
        retry=timedelta(seconds=r.retry_seconds),
    )
    health = HealthService(
        receipts,
        dispatcher,
        tuple(adapters),
        rejected=(intake.rejected, callbacks.rejected),
        reconcile=reconcile,
        capture=capture if capture_input is not None else None,
    )
    return Runtime(
        settings,
        db,
        http,
        bus,
        checkout,
        receipts,
        dispatcher,
        health,
        tracking,
        callbacks,
        followups,
        intake,
        adapters,
        reconcile=reconcile,
        capture=capture,
        capture_input=capture_input,
        lifecycle=lifecycle,
        routing=routing,
    )


def _secret_getter(
    secrets: SecretStore | Mapping[str, Mapping[str, str]] | None,
) -> Callable[[str, str], str | None]:
    store: SecretStore | Mapping[str, Mapping[str, str]] = secrets if secrets is not None else SecretStore()
    if isinstance(store, SecretStore):
        return store.get
    return lambda owner, name: store.get(owner, {}).get(name)


def _callback_secrets(
    settings: Settings, secrets: SecretStore | Mapping[str, Mapping[str, str]] | None
) -> CallbackSecrets:
    """What verifying provider callbacks needs; webhook keys are secrets, SendGrid's public key is not."""
    secret = _secret_getter(secrets)
    key = settings.providers.get("sendgrid", {}).get("webhook_public_key")
    return CallbackSecrets(
        twilio_auth_token=secret("twilio", "auth_token"),
        sendgrid_public_key=str(key) if key else None,
        mailgun_signing_key=secret("mailgun", "webhook_signing_key"),
        postmark_username=secret("postmark", "webhook_username"),
        postmark_password=secret("postmark", "webhook_password"),
        mandrill_webhook_key=secret("mandrill", "webhook_key"),
    )


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
