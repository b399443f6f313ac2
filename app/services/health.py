"""Is the system well? Queue depth, oldest pending age, what each provider did lately, and alarms.

An alarm is something a person should look into now, said in one sentence; any alarm makes the
health not ok, so a monitor polling `/v1/health` pages someone. Texts to numbers never texted
before, above `new_number_alarm_per_hour` in the last hour, raise one: a leaked API token or a POS
gone wrong may be texting strangers at the store's expense.

A warning is something a person should decide on soon but that is no fault of the system: it leaves
the health ok. Deliveries held for a manager (an attempt in doubt whose provider cannot be asked)
raise one. Sending works; a monitor paging someone at night over a text that waits for a yes or no
would teach people to ignore the page, and the decision is the manager's, not the on-call's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from app.domain.clock import Clock, utcnow
from app.domain.delivery import ACTIVE
from app.domain.records import HeldDelivery
from app.domain.text_limits import NewNumberTexts
from app.services.dispatch import Dispatcher
from app.services.hub_pull import HubPullService
from app.services.hub_push import HubPushService
from app.services.receipts import ReceiptService
from app.services.reconcile import PlatformSync, ReconcileService
from app.storage.change_feed import LaneSync

STALLED_AFTER_S = 300.0
"""A delivery due this long with nobody sending it: no dispatcher is running on this database, or it is stuck."""


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    provider: str
    state: str  # ok | failing | idle
    sent: int
    failed: int
    transient: int
    last_error: str | None
    last_error_at: datetime | None
    circuit: str = "closed"  # closed | open | half_open
    fallbacks: int = 0  # deliveries routed away from this provider since start


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    dispatcher_running: bool
    queue_depth: int
    due_now: int
    oldest_pending_age_s: float | None
    by_state: dict[str, int]
    providers: tuple[ProviderHealth, ...]
    last_error: str | None
    rejected_webhooks: dict[str, int] = field(default_factory=dict)  # by platform/provider, since start
    platform_sync: tuple[PlatformSync, ...] = ()  # catch-up polls: last successful sync per platform
    capture: str | None = None  # the print-stream pass-through: forwarding | starting | failed: why; None when off
    oldest_due_age_s: float | None = None  # how long the longest-waiting delivery that is due now has waited
    new_number_texts: NewNumberTexts | None = None  # numbers first texted in the last hour, and the alarm's threshold
    alarms: tuple[str, ...] = ()  # one sentence each; any alarm makes the health not ok
    held: tuple[HeldDelivery, ...] = ()  # deliveries waiting for a manager to send or drop them, longest first
    possible_duplicates_today: dict[str, int] = field(default_factory=dict)  # by provider, since local midnight
    warnings: tuple[str, ...] = ()  # one sentence each; a warning leaves the health ok
    hub_url: str | None = None  # this lane's hub, when it has one
    hub_sync: LaneSync | None = None  # how far its push got: backlog, parked, last push, skew
    hub_settings_version: int | None = None  # the store settings' version pulled from the hub (None: the file's own)


def start_of_day(now: datetime) -> datetime:
    """Midnight of `now`'s day in the machine's time zone: where "today" starts for the store."""
    return now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


def held_warning(held: int) -> str | None:
    """One sentence when deliveries wait for a manager; None when none does."""
    where = "on the manager's Health page or with `receiptdesk queue held`"
    if not held:
        return None
    if held == 1:
        return f"1 message is held because its customer may already have it: a manager sends or drops it {where}."
    return (
        f"{held:,} messages are held because their customers may already have them: "
        f"a manager sends or drops each {where}."
    )


class CaptureState(Protocol):
    """The print-stream capture as health sees it."""

    @property
    def state(self) -> str: ...

    problem: str | None


class HealthService:
    def __init__(
        self,
        receipts: ReceiptService,
        dispatcher: Dispatcher | None,
        providers: tuple[str, ...],
        *,
        rejected: Sequence[Mapping[str, int]] = (),
        clock: Clock = utcnow,
        reconcile: ReconcileService | None = None,
        capture: CaptureState | None = None,
        hub: HubPushService | None = None,
        hub_pull: HubPullService | None = None,
    ) -> None:
        self._hub = hub
        self._hub_pull = hub_pull
        self._reconcile = reconcile
        self._capture = capture
        self._rejected = rejected
        self._receipts = receipts
        self._dispatcher = dispatcher
        self._providers = providers
        self._clock = clock

    async def check(self) -> Health:
        """A snapshot of the outbox and providers, cheap enough to poll every few seconds."""
        queue = await self._receipts.queue_status()
        now = self._clock()
        stats = self._dispatcher.stats.providers if self._dispatcher else {}
        providers = []
        for name in self._providers:
            s = stats.get(name)
            circuit = self._dispatcher.breaker.state(name).value if self._dispatcher else "closed"
            providers.append(
                ProviderHealth(
                    name,
                    "failing" if circuit == "open" else (s.state if s else "idle"),
                    s.sent if s else 0,
                    s.failed if s else 0,
                    s.transient if s else 0,
                    s.last_error if s else None,
                    s.last_error_at if s else None,
                    circuit,
                    s.fallbacks if s else 0,
                )
            )
        errors = [p for p in providers if p.last_error_at is not None]
        last = max(errors, key=lambda p: p.last_error_at or now) if errors else None
        running = self._dispatcher is not None and self._dispatcher.running
        depth = sum(n for state, n in queue.by_state.items() if state in {s.value for s in ACTIVE})
        capture = None
        if self._capture is not None and self._capture.state != "off":
            state = self._capture.state
            capture = f"failed: {self._capture.problem}" if state == "failed" else state
        texts = await self._receipts.new_number_texts(now)
        alarms = tuple(a for a in (texts.alarm,) if a is not None)
        held = tuple(await self._receipts.held())
        duplicates = await self._receipts.possible_duplicates(start_of_day(now))
        hub_sync = await self._hub.status() if self._hub is not None else None
        hub_words = self._hub.warnings(hub_sync, now) if self._hub is not None and hub_sync is not None else []
        pull_words = self._hub_pull.warning() if self._hub_pull is not None else None
        if pull_words is not None:  # the pull's own failure, beside the push's
            hub_words = [*hub_words, pull_words]
        return Health(
            ok=running
            and all(p.state != "failing" for p in providers)
            and not (capture or "").startswith("failed")
            and not alarms,
            dispatcher_running=running,
            queue_depth=depth,
            due_now=queue.due_now,
            oldest_pending_age_s=(now - queue.oldest_pending_at).total_seconds() if queue.oldest_pending_at else None,
            by_state=queue.by_state,
            providers=tuple(providers),
            last_error=f"{last.provider}: {last.last_error}" if last else None,
            rejected_webhooks={k: v for counts in self._rejected for k, v in counts.items() if v},
            platform_sync=tuple(await self._reconcile.status()) if self._reconcile else (),
            capture=capture,
            oldest_due_age_s=(now - queue.oldest_due_at).total_seconds() if queue.oldest_due_at else None,
            new_number_texts=texts,
            alarms=alarms,
            held=held,
            possible_duplicates_today=dict(sorted(duplicates.items())),
            warnings=tuple(w for w in (held_warning(len(held)), *hub_words) if w is not None),
            hub_url=self._hub.url if self._hub is not None else None,
            hub_sync=hub_sync,
            hub_settings_version=self._hub.settings_version if self._hub is not None else None,
        )

    async def recorded(self) -> Health:
        """The health as the database and the settings show it, for a process that sends nothing
        (`receiptdesk health`): the queue, the configured providers and the platforms' last syncs.

        Whether another process sends cannot be seen here, so `ok` means the outbox moves (no
        delivery has been due for more than `STALLED_AFTER_S`) and no alarm is up. The providers'
        live state (sent, failing, circuits) belongs to the sending process: its `/v1/health` has it.
        """
        health = await self.check()
        stalled = health.oldest_due_age_s is not None and health.oldest_due_age_s > STALLED_AFTER_S
        return replace(health, ok=not stalled and not health.alarms)
