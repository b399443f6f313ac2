"""The settings window: edits the settings file, the keyring and this kiosk's preferences."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QTabWidget, QVBoxLayout, QWidget

from app.config.settings import Settings
from app.config.settings_writer import changed_settings
from app.domain.audit import changed_keys
from app.domain.pins import check_pin
from app.ui.context import KioskContext
from app.ui.errors import ErrorBanner
from app.ui.prefs import save_prefs
from app.ui.settings.devices_page import DevicesPage
from app.ui.settings.kiosk_page import KioskPage
from app.ui.settings.providers_page import ProvidersPage
from app.ui.settings.routing_page import RoutingPage
from app.ui.settings.store_page import StorePage
from app.ui.tasks import TaskOwner, action, busy


class SettingsWindow(QMainWindow):
    """Store, Routing, Providers, Devices, Kiosk; Save writes everything at once."""

    def __init__(self, ctx: KioskContext) -> None:
        super().__init__()
        self._ctx = ctx
        self.tasks = TaskOwner(self, "settings")
        self.setWindowTitle("ReceiptDesk \u2014 Settings")
        self.setAccessibleName("Settings")
        self.banner = ErrorBanner()
        self.store = StorePage()
        self.routing = RoutingPage(ctx.catalogue)
        self.providers = ProvidersPage(ctx.catalogue)
        self.devices = DevicesPage()
        self.kiosk = KioskPage(
            pin_label="Your new &PIN",
            pin_note="Changes the PIN of the manager signed in now; only a slow hash of it is kept.",
        )
        tabs = QTabWidget()
        tabs.addTab(self.store, "&Store")
        tabs.addTab(self.routing, "&Routing")
        tabs.addTab(self.providers, "Pro&viders")
        tabs.addTab(self.devices, "&Devices")
        tabs.addTab(self.kiosk, "&Kiosk")
        where = QLabel(f"Settings file: {ctx.settings_store.path}")
        where.setProperty("muted", True)
        where.setWordWrap(True)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Save result")
        self.save_button = QPushButton("Sa&ve")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        close = QPushButton("&Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.result, 1)
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addWidget(tabs, 1)
        layout.addWidget(where)
        layout.addLayout(buttons)
        self.setCentralWidget(body)
        self.resize(900, 700)

    def open(self) -> None:
        """Show the window with what is saved now."""
        self.banner.dismiss()
        self.result.clear()
        settings = self._ctx.file_settings
        self.store.load(settings)
        self.routing.load(settings)
        self.providers.load(settings)
        self.devices.load(settings)
        self.kiosk.load(self._ctx.prefs)
        self.show()
        self.raise_()
        self.tasks.start(self._secret_states(), "secrets")
        self.tasks.start(self._serial_ports(), "ports")

    async def _serial_ports(self) -> None:
        self.devices.show_ports(await self._ctx.devices.serial_ports())

    async def _secret_states(self) -> None:
        problem = await self._ctx.settings_store.keyring_problem()
        self.providers.show_keyring_problem(problem)
        for provider, fields in self.providers.secrets.items():
            for name in fields:
                stored = await self._ctx.settings_store.secret_stored(provider, name)
                self.providers.show_secret_state(provider, name, stored)

    def collect(self) -> Settings:
        """The settings as the form has them (validated)."""
        current: dict[str, Any] = self._ctx.file_settings.model_dump(mode="json", exclude_none=True)
        current["store"] = self.store.values(current.get("store", {}))
        current["routing"] = self.routing.values()
        current["providers"] = self.providers.values(current.get("providers", {}))
        current.update(self.devices.values(current))
        return self._ctx.settings_store.validate(current)

    @action
    async def save(self) -> None:
        """Write the settings file, the secrets typed, the kiosk preferences and the manager's new PIN; audit it."""
        actor = self._ctx.actor
        settings = self.collect()
        pin = self.kiosk.new_pin()
        if pin:
            check_pin(pin)
        prefs = self.kiosk.values(self._ctx.prefs)
        store = self._ctx.settings_store
        secrets = self.providers.typed_secrets()
        before, before_prefs = self._ctx.file_settings, self._ctx.prefs
        with busy(self.save_button):
            await store.save_all(settings, secrets)
            self._ctx.file_settings = settings
            await save_prefs(self._ctx.prefs_path, prefs)
            self._ctx.prefs = prefs
            keys = changed_settings(before, settings)
            keys += [f"kiosk.{key}" for key in changed_keys(asdict(before_prefs), asdict(prefs))]
            if keys or secrets:
                detail = {"keys": keys, "secrets_changed": [f"{p}.{f}" for p, f, _ in secrets]}
                await self._ctx.kiosk.record(actor, "settings.changed", str(store.path), detail)
            if pin:
                await self._ctx.managers.reset_pin(actor, pin, actor=actor)
        self.providers.load(settings)
        self.kiosk.load(prefs)
        await self._secret_states()
        self.result.setText("Saved. Restart ReceiptDesk to use new branding, routing, provider and device settings.")
