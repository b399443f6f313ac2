"""The runtime: every service built once over one database and one HTTP client, and closed in order."""

from __future__ import annotations

import asyncio
import gc
import linecache
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from app.config.secrets import SecretStore
from app.config.settings import Settings, routing_of
from app.domain.channels import Channel
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN
from app.domain.routing import Routing
from app.domain.text_limits import TextLimits
from app.main.database_only import open_database
from app.main.devices import build_capture, build_printer
from app.main.edges import Secrets, build_adapters, build_callbacks, secret_getter
from app.main.store_settings import at_start, store_settings_pull
from app.main.unsubscribe import build_unsubscribe, unsubscribe_route
from app.providers.base import ProviderAdapter, provider_client
from app.rendering.inline_images import store_logo
from app.rendering.receipts import ReceiptRenderer
from app.rendering.updates import UpdateRenderer
from app.services.app_devices import AppDeviceService
from app.services.bus import EventBus
from app.services.callbacks import CallbackService
from app.services.capture import ByteSource, CaptureService
from app.services.checkout import CheckoutService
from app.services.dispatch import Dispatcher
from app.services.followups import FollowUpService
from app.services.health import HealthService
from app.services.hub import HubService
from app.services.hub_pull import HubPullService
from app.services.hub_push import HubPushService
from app.services.hub_requests import HubRequestService
from app.services.inbound_texts import InboundTextService
from app.services.intake import IntakeService
from app.services.lifecycle import LifecycleService
from app.services.printing import PRINTER_PROVIDER
from app.services.receipts import ReceiptService
from app.services.reconcile import ReconcileService
from app.services.retention import RetentionService, store_zone
from app.services.retry import RetryPolicy
from app.services.status_checks import StatusCheckService
from app.services.text_in import TextInService
from app.services.tokens import TokenService
from app.services.tracking import TrackingService
from app.services.unsubscribe import UnsubscribeService
from app.services.whatsapp_inbound import WhatsAppInboundService
from app.storage import change_feed
from app.storage.database import Database
from app.triggers.catchup import build_pollers
from app.triggers.registry import build_triggers

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# httpcore scans every pooled connection (with syscalls) on each request: a small pool is faster.
HTTP_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32)


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
    status_checks: StatusCheckService | None = None  # asks providers for statuses that never came
    whatsapp_inbound: WhatsAppInboundService | None = None  # customers' WhatsApp messages open their window
    inbound_texts: InboundTextService | None = None  # customers' texts to the store: STOP, START, HELP, codes
    text_in: TextInService | None = None  # the customer screen's text-in codes
    retention: RetentionService | None = None  # the daily purge at [retention] purge_at, and legal holds
    unsubscribe: UnsubscribeService | None = None  # receipt e-mails' unsubscribe pages and inbound mailbox
    hub: HubService | None = None  # `serve --hub`: the lanes' batches and their state
    hub_push: HubPushService | None = None  # this lane's records to its hub, when `[hub] url` is set
    hub_pull: HubPullService | None = None  # other lanes' customer choices from the hub, when `[hub] url` is set
    leaving_hub: asyncio.Future[None] | None = field(default=None, init=False)  # feed off: the lane left its hub
    tokens: TokenService = field(init=False)  # the API's clients
    devices: AppDeviceService = field(init=False)  # customers' app installs for push receipts

    def __post_init__(self) -> None:
        self.tokens = TokenService(self.db)
        self.devices = AppDeviceService(self.db)

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
            if self.status_checks is not None:
                self.status_checks.start()  # a round now, then every interval
            if self.retention is not None:
                self.retention.start()  # the daily purge, at the store's purge_at
            if self.hub_push is not None:
                self.hub_push.start()  # the change feed on, then pushes after sales and every few seconds
            elif self.settings.hub.url is None and self.hub is None:  # a lane that left its hub feeds no more
                self.leaving_hub = asyncio.ensure_future(self.db.write(change_feed.leave_hub))
            if self.hub_pull is not None:
                self.hub_pull.start()  # other lanes' preferences, consents and opt-outs, every pull_every_seconds

    def local_api(self, *, webhooks: bool = True) -> FastAPI:
        """The local HTTP API over this runtime's services, guarded by `[api]` and the API's tokens.

        `webhooks=False` leaves out the providers' and platforms' webhook routes (the kiosk's API).
        """
        from app.server.api import create_api  # the web framework loads when an API is served, not at start

        return create_api(
            self.checkout,
            self.receipts,
            self.health,
            tokens=self.tokens,
            settings=self.settings.api,
            callbacks=self.callbacks if webhooks else None,
            intake=self.intake if webhooks else None,
            devices=self.devices,
            whatsapp_inbound=self.whatsapp_inbound if webhooks else None,
            unsubscribe=self.unsubscribe if webhooks else None,
            inbound_texts=self.inbound_texts if webhooks else None,
            hub=self.hub,
        )

    async def close(self) -> None:
        if self.capture is not None:
            await self.capture.stop()
        if self.reconcile is not None:
            await self.reconcile.stop()
        if self.lifecycle is not None:
            await self.lifecycle.stop()
        if self.status_checks is not None:
            await self.status_checks.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.hub_push is not None:
            await self.hub_push.stop()
        if self.hub_pull is not None:
            await self.hub_pull.stop()
        if self.leaving_hub is not None:
            await self.leaving_hub
        await self.followups.stop()
        await self.dispatcher.stop()
        await self.tokens.flush()
        await self.http.aclose()
        self.db.close()


def settle_heap() -> None:
    """Move everything built at start-up out of the garbage collector's way.

    A full collection walks every tracked object; with the UI, the API and the SQL layer loaded that
    is hundreds of thousands, which stalled the event loop for about 200 ms on a 2-core terminal.
    Frozen objects are never scanned again, so later collections only see what the day creates.
    The source lines the kiosk's Qt bindings read of every module imported after them (to look for
    their own name) are let go first: a traceback reads what it shows again.
    """
    linecache.clearcache()
    gc.collect()
    gc.freeze()


def build_runtime(
    settings: Settings,
    *,
    data: str | Path | None = None,
    secrets: Secrets | None = None,
    db: Database | None = None,
    owner: str | None = None,
    sending: bool = True,
) -> Runtime:
    """Wire every service. Call from inside the running event loop.

    `sending=False` is for tools that read receipts or only queue work (the CLI's `receipts` and `queue`
    commands): providers and platforms whose credentials are missing are then left out.
    """
    db = db or open_database(settings, data)
    file_settings = settings
    settings, settings_version, settings_note = at_start(file_settings, db)  # the hub's last pulled, if any
    http = provider_client(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS)
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
    logo = store_logo(store.logo)  # shown atop e-mail receipts, attached inline when they are sent
    dispatcher = Dispatcher(
        db,
        adapters,
        bus,
        routing=routing,
        policy=policy,
        rates=rates,
        concurrency=d.concurrency,
        lease=timedelta(seconds=d.lease_seconds),
        in_doubt=d.in_doubt,
        owner=owner or f"{socket.gethostname()}-{os.getpid()}",
        inline_images={logo.cid: logo.attachment} if logo else None,
        unsubscribe=unsubscribe_route(settings, routing),  # List-Unsubscribe on customer e-mails
    )
    texts = TextLimits.of(settings.texts)
    checkout = CheckoutService(
        db,
        ReceiptRenderer(logo=logo),
        store.profile(),
        routing.primaries(),
        bus,
        default_language=store.default_language,
        texts=texts,
    )
    receipts = ReceiptService(db, routing.primaries(), bus, texts=texts)
    tracking = TrackingService(db, routing.primaries(), bus, bounce_fallback=d.bounce_fallback, texts=texts)
    f = settings.followups
    followups = FollowUpService(
        db,
        bus,
        store_name=store.name,
        daily_at=f.daily_summary_at,
        after_delivery={p: adapters[p].capabilities.channel for p in f.after_delivery if p in adapters},
        daily_summary={p: adapters[p].capabilities.channel for p in f.daily_summary if p in adapters},
    )
    callbacks = CallbackService(tracking, build_callbacks(settings, secrets))
    status_checks = StatusCheckService(
        db, tracking, adapters, after=timedelta(minutes=d.status_check_after_minutes), concurrency=min(4, d.concurrency)
    )
    platforms = settings.platforms if sending else {}  # the CLI's tools take no webhooks
    triggers = build_triggers(platforms, http, secret_getter(secrets), store_id=store.id)
    lifecycle = LifecycleService(db, UpdateRenderer(), store.profile(), routing.primaries(), bus, texts=texts)
    intake = IntakeService(db, checkout, triggers, lifecycle=lifecycle)
    capture, capture_input = build_capture(settings, db, checkout, listen=sending)
    pollers, not_polled = build_pollers(settings.platforms, http, secret_getter(secrets), store_id=store.id)
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
    whatsapp_inbound = (
        WhatsAppInboundService(db, auth_token=secret_getter(secrets)("twilio_whatsapp", "auth_token"))
        if "twilio_whatsapp" in adapters
        else None
    )
    text_in, inbound_texts = _texts_in(settings, db, bus, adapters, texts, secrets)
    unsubscribe = build_unsubscribe(settings, db, bus, secrets)
    hub_push = _hub_push(settings, db, http, bus, secrets)
    hub_pull = _hub_pull(settings, db, http, bus, secrets)
    if hub_pull is not None:  # with each pull, the resends the hub holds for this lane (each carried out once)
        hub_pull.also.append(_hub_requests(settings, db, http, receipts, secrets))
        if hub_push is not None:  # the hub answers again: a push waiting out an outage goes at once
            hub_pull.heard.append(hub_push.hub_answered)
    health = HealthService(
        receipts,
        dispatcher,
        tuple(adapters),
        rejected=(
            intake.rejected,
            callbacks.rejected,
            *([whatsapp_inbound.rejected] if whatsapp_inbound else []),
            *([inbound_texts.rejected] if inbound_texts else []),
            unsubscribe.rejected,
        ),
        reconcile=reconcile,
        capture=capture if capture_input is not None else None,
        hub=hub_push,
        hub_pull=hub_pull,
    )
    runtime = Runtime(
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
        status_checks=status_checks,
        whatsapp_inbound=whatsapp_inbound,
        unsubscribe=unsubscribe,
        inbound_texts=inbound_texts,
        text_in=text_in,
        retention=RetentionService(db, settings.retention, zone=store_zone(store.timezone), store_id=store.id),
        hub_push=hub_push,
        hub_pull=hub_pull,
    )
    if hub_pull is not None:  # with each pull, the store's settings managed on the hub
        token = secret_getter(secrets)(HUB_OWNER, HUB_TOKEN.name)
        pull = store_settings_pull(runtime, file_settings, token=token, version=settings_version, note=settings_note)
        hub_pull.also.append(pull)
    return runtime


def _hub_push(
    settings: Settings, db: Database, http: httpx.AsyncClient, bus: EventBus, secrets: Secrets | None
) -> HubPushService | None:
    """The push of this lane's records to its hub, when `[hub] url` is set (it turns the change feed on)."""
    hub, store = settings.hub, settings.store
    if not hub.url:
        return None
    return HubPushService(
        db,
        http,
        bus,
        url=hub.url,
        token=secret_getter(secrets)(HUB_OWNER, HUB_TOKEN.name),
        lane_id=f"{store.id}/{hub.lane}",
        store_id=store.id,
        every=hub.push_every_seconds,
        batch_size=hub.batch_size,
        zone=store_zone(store.timezone),
    )


def _hub_pull(
    settings: Settings, db: Database, http: httpx.AsyncClient, bus: EventBus, secrets: Secrets | None
) -> HubPullService | None:
    """The pull of other lanes' customer choices from this lane's hub, when `[hub] url` is set (same token)."""
    hub, store = settings.hub, settings.store
    if not hub.url:
        return None
    token = secret_getter(secrets)(HUB_OWNER, HUB_TOKEN.name)
    return HubPullService(
        db,
        bus,
        http,
        url=hub.url,
        lane_id=f"{store.id}/{hub.lane}",
        token=lambda: token,
        every=timedelta(seconds=hub.pull_every_seconds),
    )


def _hub_requests(
    settings: Settings, db: Database, http: httpx.AsyncClient, receipts: ReceiptService, secrets: Secrets | None
) -> HubRequestService:
    """The resends other lanes ask of this lane through the hub, carried out with each pull (same token)."""
    hub, store = settings.hub, settings.store
    assert hub.url is not None
    token = secret_getter(secrets)(HUB_OWNER, HUB_TOKEN.name)
    return HubRequestService(db, receipts, http, url=hub.url, lane_id=f"{store.id}/{hub.lane}", token=lambda: token)


def _texts_in(
    settings: Settings,
    db: Database,
    bus: EventBus,
    adapters: dict[str, ProviderAdapter],
    texts: TextLimits,
    secrets: Secrets | None,
) -> tuple[TextInService | None, InboundTextService | None]:
    """Text-in codes and the store number's incoming texts, when the twilio provider is set up."""
    if "twilio" not in adapters:
        return None, None
    store = settings.store
    sms = "twilio"  # answers and text-in receipts go from the number the customer texted
    number = settings.texts.text_in_number or _text(settings.providers.get("twilio", {}).get("from_number"))
    text_in = TextInService(
        db, enabled=settings.texts.text_in, number=number, store_name=store.name, sms_provider=sms, limits=texts
    )
    inbound = InboundTextService(
        db,
        bus,
        auth_token=secret_getter(secrets)("twilio", "auth_token"),
        store_name=store.name,
        store_phone=store.phone,
        sms_provider=sms,
        text_in=text_in,
        limits=texts,
    )
    return text_in, inbound


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
