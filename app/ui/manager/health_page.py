"""Is everything well: online, alarms, warnings, possible duplicates today, queue, oldest waiting, texts
to new numbers, providers, last error, the lane's sync with its hub, the messages held for a manager (Send or
Drop), and today's chart."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.delivery import DeliveryState
from app.services.health import Health
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.formatting import age_text, channel_word, moment
from app.ui.manager.held_box import HeldBox
from app.ui.status import HealthMonitor, online_text
from app.ui.tasks import TaskOwner
from app.ui.widgets.bar_chart import BarChart

CHART_STATES = tuple(
    s.value
    for s in (
        DeliveryState.QUEUED,
        DeliveryState.SENDING,
        DeliveryState.SENT,
        DeliveryState.DELIVERED,
        DeliveryState.UNKNOWN,
        DeliveryState.HELD,
        DeliveryState.BOUNCED,
        DeliveryState.FAILED,
        DeliveryState.DEAD,
    )
)
PROVIDER_COLUMNS = ("Provider", "State", "Sent", "Refused", "Retried", "Last error")


def new_numbers_text(health: Health) -> str:
    """`12 in the last hour (alarm above 60)`: numbers texted for the first time, against the alarm."""
    texts = health.new_number_texts
    if texts is None:
        return "not counted"
    return f"{texts.count:,} in the last hour (alarm above {texts.alarm_at:,})"


def sync_text(health: Health) -> str:
    """One line per polled platform: its state, last successful sync (local time) and last error."""
    lines = []
    for s in health.platform_sync:
        when = moment(s.last_success_at, datetime.now(UTC)) if s.last_success_at else "never"
        error = f" \u2013 {s.last_error}" if s.last_error else ""
        lines.append(f"{s.platform}: {s.state}" if s.detail else f"{s.platform}: {s.state}, last synced {when}{error}")
    return "\n".join(lines)


def hub_text(health: Health, now: datetime | None = None) -> str:
    """`12 records wait, none parked, last push 3:10 PM, clock 40 ms behind the hub's`; empty without a hub."""
    sync = health.hub_sync
    if sync is None:
        return ""
    waiting = (
        "nothing waits"
        if not sync.backlog
        else "1 record waits"
        if sync.backlog == 1
        else f"{sync.backlog:,} records wait"
    )
    parked = f"{sync.parked:,} parked" if sync.parked else "none parked"
    pushed = f"last push {moment(sync.last_push_at, now or datetime.now(UTC))}" if sync.last_push_at else "no push yet"
    words = [waiting, parked, pushed]
    if sync.skew_ms is not None:
        side = "behind" if sync.skew_ms > 0 else "ahead of"
        words.append(f"clock {abs(sync.skew_ms):,} ms {side} the hub's")
    if health.hub_settings_version is not None:
        words.append(f"store settings version {health.hub_settings_version} from the hub")
    return ", ".join(words)


class HealthPage(QWidget):
    """Refreshed with every health check while it is shown."""

    def __init__(
        self, ctx: KioskContext, monitor: HealthMonitor, tasks: TaskOwner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.facts: dict[str, QLabel] = {}
        facts = self._facts = QFormLayout()
        for key, label in (
            ("status", "Status"),
            ("alarm", "Alarm"),
            ("warning", "Warning"),
            ("duplicates", "Possible duplicates today"),
            ("queue", "Queue depth"),
            ("due", "Due now"),
            ("oldest", "Oldest waiting"),
            ("new_numbers", "Texts to new numbers"),
            ("error", "Last error"),
            ("sync", "Platform sync"),
            ("hub", "Hub sync"),
            ("capture", "Receipt capture"),
        ):
            value = QLabel("\u2026")
            value.setWordWrap(True)
            value.setAccessibleName(label)
            facts.addRow(label, value)
            self.facts[key] = value
        self.providers = QTableWidget(0, len(PROVIDER_COLUMNS))
        self.providers.setHorizontalHeaderLabels(PROVIDER_COLUMNS)
        self.providers.setAccessibleName("Providers")
        self.providers.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.providers.verticalHeader().hide()
        self.providers.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.providers.horizontalHeader().setStretchLastSection(True)
        self.providers.setTabKeyNavigation(False)
        self.chart = BarChart(CHART_STATES)
        left = QVBoxLayout()
        box = QGroupBox("Now")
        box.setLayout(facts)
        left.addWidget(box)
        left.addWidget(self.providers, 1)
        chart_box = QGroupBox("Today's deliveries by channel and state")
        QVBoxLayout(chart_box).addWidget(self.chart)
        self.held = HeldBox(ctx, tasks)
        self.held.sig_changed.connect(self._held_changed)
        self.held.sig_decided.connect(monitor.refresh)  # the warning, the counts and the chart follow at once
        self._right = QVBoxLayout()
        self._right.addWidget(chart_box, 3)
        self._right.addWidget(self.held, 0)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(self._right, 1)
        monitor.sig_health.connect(self.show_health)
        if monitor.latest is not None:
            self.show_health(monitor.latest)

    def show_health(self, health: Health) -> None:
        """Show a health snapshot; refresh the chart when visible."""
        words, _ok = online_text(health)
        self.facts["status"].setText(f"{words}, with an alarm" if health.alarms else words)
        alarm = self.facts["alarm"]
        alarm.setText("\n".join(health.alarms) or "none")
        theme.hint(alarm, "bad" if health.alarms else None, bold=bool(health.alarms))
        warning = self.facts["warning"]
        warning.setText("\n".join(health.warnings) or "none")
        theme.hint(warning, "warn" if health.warnings else None, bold=bool(health.warnings))
        self.facts["duplicates"].setText(self.duplicates_text(health))
        self.held.show_held(health.held)
        self.facts["new_numbers"].setText(new_numbers_text(health))
        self.facts["queue"].setText(f"{health.queue_depth:,}")
        self.facts["due"].setText(f"{health.due_now:,}")
        self.facts["oldest"].setText(age_text(health.oldest_pending_age_s))
        self.facts["error"].setText(health.last_error or "none")
        self.facts["sync"].setText(sync_text(health) or "no platforms polled")
        self.facts["capture"].setText(health.capture or "off")
        self.facts["hub"].setText(hub_text(health))
        self._facts.setRowVisible(self.facts["hub"], health.hub_sync is not None)
        self.providers.setRowCount(len(health.providers))
        for row, p in enumerate(health.providers):
            values = (p.provider, p.state, str(p.sent), str(p.failed), str(p.transient), p.last_error or "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.providers.setItem(row, column, item)
        if self.isVisible() and self.tasks.pending < 8:
            self.tasks.start(self.refresh_chart(), "chart")

    def _held_changed(self) -> None:
        """The held list takes room under the chart only while something is held."""
        self._right.setStretchFactor(self.held, 2 if self.held.held else 0)

    def duplicates_text(self, health: Health) -> str:
        """`Twilio 2, SendGrid 1`: deliveries sent again in doubt since midnight, by provider."""
        names = {p.id: p.display_name for p in self._ctx.catalogue.providers()}
        found = health.possible_duplicates_today
        return ", ".join(f"{names.get(p, p)} {n:,}" for p, n in found.items()) or "none"

    async def refresh_chart(self) -> None:
        """Count today's deliveries and redraw the chart."""
        await self.held.refresh()  # the chart counts held deliveries: the list says the same at once
        counts = await self._ctx.kiosk.deliveries_today()
        self.chart.set_data(
            {channel_word(ch): {s.value: n for s, n in by_state.items()} for ch, by_state in counts.items()}
        )
