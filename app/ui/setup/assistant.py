"""The set-up assistant: the first thing a kiosk with no store settings shows, before the cashier.

Five steps (the store, e-mail receipts, text receipts, the receipt printer, this kiosk and its
manager PIN), each checked before the next. Finish stores the credentials and the PIN in the
keyring, then writes the settings file and the kiosk's preferences, the way the settings window
saves; nothing is saved before. `run()` answers what was saved, or None when the person cancelled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import PrinterSettings, Settings
from app.config.settings_writer import SettingsStore
from app.services.catalogue import ProviderCatalogue
from app.services.devices import DeviceService
from app.services.kiosk.lock import PIN_OWNER, PIN_SECRET
from app.services.setup import SetupService
from app.ui import theme
from app.ui.errors import ErrorBanner
from app.ui.prefs import load_prefs, save_prefs
from app.ui.settings.routing_page import ROUTED
from app.ui.setup.channel_step import ChannelStep
from app.ui.setup.steps import KioskStep, PrinterStep, Step, StoreStep
from app.ui.tasks import TaskOwner, action, busy


@dataclass(frozen=True, slots=True)
class FirstRun:
    """What the assistant saved: the settings as written, and which keyring secrets it stored (names only)."""

    settings: Settings
    secrets_stored: tuple[str, ...]


class SetupAssistant(QMainWindow):
    """Back, Next, Finish and Cancel over the steps; one error banner; the settings file's path shown."""

    def __init__(
        self,
        settings: Settings,
        store: SettingsStore,
        setup: SetupService[PrinterSettings],
        catalogue: ProviderCatalogue,
        devices: DeviceService,
        prefs_path: Path,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._store = store
        self._devices = devices
        self._prefs_path = prefs_path
        self._outcome: asyncio.Future[FirstRun | None] | None = None
        self.tasks = TaskOwner(self, "setup")
        self.setWindowTitle("ReceiptDesk \u2014 Set up this terminal")
        self.setAccessibleName("Set-up assistant")
        self.banner = ErrorBanner()
        self.store_step = StoreStep(settings)
        self.channels = [
            ChannelStep(channel, settings, catalogue, setup, self._store_name, self.tasks) for channel, *_ in ROUTED
        ]
        self.printer_step = PrinterStep(settings, setup, self.store_step.profile, self.tasks)
        self.kiosk_step = KioskStep(load_prefs(prefs_path))
        self.steps: list[Step] = [self.store_step, *self.channels, self.printer_step, self.kiosk_step]
        self.pages = QStackedWidget()
        for step in self.steps:
            scroll = QScrollArea()
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidgetResizable(True)
            scroll.setWidget(step)
            self.pages.addWidget(scroll)
        self.setCentralWidget(self._frame())
        self._make_touchable()
        self._show_step(0)
        self.resize(960, 760)

    def _frame(self) -> QWidget:
        title = QLabel("Set up ReceiptDesk")
        theme.set_font(title, 1.7, bold=True)
        self.progress = QLabel("")
        self.progress.setProperty("muted", True)
        self.progress.setAccessibleName("Set-up step")
        where = QLabel(f"Settings file: {self._store.path}")
        where.setProperty("muted", True)
        where.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.back_button = QPushButton("&Back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("&Next")
        self.next_button.setProperty("primary", True)
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(self.progress)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        layout.addWidget(where)
        layout.addLayout(buttons)
        return body

    def _make_touchable(self) -> None:
        """Buttons and fields a finger can hit."""
        for button in (self.cancel_button, self.back_button, self.next_button):
            theme.touch_target(button)
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance("M") * 9)
        fields = (*self.findChildren(QLineEdit), *self.findChildren(QComboBox), *self.findChildren(QAbstractSpinBox))
        for field in fields:
            if not isinstance(field.parent(), QComboBox | QAbstractSpinBox):  # their own line edits follow them
                field.setMinimumHeight(int(field.fontMetrics().height() * 1.9))

    @property
    def index(self) -> int:
        """The step shown, from 0."""
        return self.pages.currentIndex()

    @property
    def step(self) -> Step:
        """The step shown."""
        return self.steps[self.index]

    def _store_name(self) -> str:
        return self.store_step.page.fields["name"].text().strip()

    def _show_step(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.progress.setText(f"Step {index + 1} of {len(self.steps)}: {self.step.title}")
        self.back_button.setEnabled(index > 0)
        last = index == len(self.steps) - 1
        self.next_button.setText("&Finish" if last else "&Next")
        self.next_button.setAccessibleName("Finish: save and start" if last else "Next step")
        self.banner.dismiss()

    async def run(self) -> FirstRun | None:
        """Show the assistant until it is finished (what was saved) or cancelled (None); then close it."""
        self._outcome = asyncio.get_running_loop().create_future()
        self.show()
        self.tasks.start(self._load_states(), "states")
        try:
            return await self._outcome
        finally:
            await self.tasks.close()
            self._outcome = None
            self.close()
            self.deleteLater()

    async def _load_states(self) -> None:
        """Which secrets are stored already (the keyring or the environment), and the serial ports."""
        problem = await self._store.keyring_problem()
        for channel in self.channels:
            for provider, form in channel.forms.items():
                form.lock_secrets(bool(problem))
                for name in form.secrets:
                    form.show_secret_state(name, await self._store.secret_stored(provider, name))
        self.kiosk_step.show_pin_stored(await self._store.secret_stored(PIN_OWNER, PIN_SECRET.name))
        if problem:
            self.kiosk_step.intro.setText(f"{self.kiosk_step.intro.text()}\n\n{problem}")
        self.printer_step.show_ports(await self._devices.serial_ports())

    @action
    async def next(self) -> None:
        """Check the step; then show the next one, or finish on the last."""
        with busy(self.next_button, self.back_button):
            await self.step.check()
            if self.index == len(self.steps) - 1:
                await self._finish()
                return
        self._show_step(self.index + 1)

    def back(self) -> None:
        """Show the step before (nothing typed is lost)."""
        if self.index > 0:
            self._show_step(self.index - 1)

    def cancel(self) -> None:
        """Stop without saving anything."""
        self._settle(None)

    def collect(self) -> tuple[Settings, list[tuple[str, str, str]]]:
        """The settings as typed (validated) and the `(owner, field, value)` secrets to store."""
        current: dict[str, Any] = self._settings.model_dump(mode="json", exclude_none=True)
        current["store"] = self.store_step.values(current.get("store", {}))
        providers: dict[str, Any] = current.setdefault("providers", {})
        routing: dict[str, str] = {}
        secrets: list[tuple[str, str, str]] = []
        for channel in self.channels:
            if channel.chosen is None:
                continue
            routing[channel.channel.value] = channel.chosen
            providers[channel.chosen] = channel.section()
            secrets += channel.typed_secrets()
        current["routing"] = routing
        current["printer"] = self.printer_step.values(current.get("printer", {}))
        pin = self.kiosk_step.new_pin()
        if pin:
            secrets.append((PIN_OWNER, PIN_SECRET.name, pin))
        return self._store.validate(current), secrets

    async def _finish(self) -> None:
        settings, secrets = self.collect()
        prefs = self.kiosk_step.page.values(load_prefs(self._prefs_path))
        await self._store.save_all(settings, secrets)
        await save_prefs(self._prefs_path, prefs)
        self._settle(FirstRun(settings, tuple(f"{owner}.{field}" for owner, field, _ in secrets)))

    def _settle(self, outcome: FirstRun | None) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(outcome)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window is cancelling."""
        self._settle(None)
        super().closeEvent(event)
