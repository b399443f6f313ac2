"""What the kiosk windows share: the runtime's services plus the kiosk's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.config.settings import Settings
from app.config.settings_writer import SettingsStore
from app.services.bus import EventBus
from app.services.capture import CaptureService
from app.services.catalogue import ProviderCatalogue
from app.services.devices import DeviceService
from app.services.health import HealthService
from app.services.kiosk import KioskService, ManagerLock
from app.services.receipts import ReceiptService
from app.services.scanning import ScanningService
from app.ui.prefs import KioskPrefs


@dataclass
class KioskContext:
    """Built once by `app.ui_launch`; windows read services from here and call nothing else.

    `settings` are the running settings; `file_settings` are the settings as the file holds them (the
    demo routes `settings` to the sandbox; the settings screen edits and saves `file_settings`).
    """

    settings: Settings
    bus: EventBus
    receipts: ReceiptService
    health: HealthService
    kiosk: KioskService
    settings_store: SettingsStore
    file_settings: Settings
    prefs: KioskPrefs
    prefs_path: Path
    manager_lock: ManagerLock
    export_dir: Path
    catalogue: ProviderCatalogue  # the providers the settings screens list
    devices: DeviceService  # the serial ports the settings screens offer
    demo: bool = False
    scanning: ScanningService | None = None
    capture: CaptureService | None = None  # receipts read from a legacy POS's print stream

    @property
    def store_name(self) -> str:
        """The store's name as the receipts show it."""
        return self.settings.store.name
