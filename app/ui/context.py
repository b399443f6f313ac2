"""What the kiosk windows share: the runtime's services plus the kiosk's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.config.settings import Settings
from app.config.settings_writer import SettingsStore
from app.services.bus import EventBus
from app.services.capture import CaptureService
from app.services.catalogue import ProviderCatalogue
from app.services.consent import ConsentService
from app.services.customer_rights import CustomerRightsService
from app.services.devices import DeviceService
from app.services.health import HealthService
from app.services.inbound_texts import InboundTextService
from app.services.kiosk import AccessDenied, KioskService, ManagerLock
from app.services.managers import ManagerService
from app.services.receipts import ReceiptService
from app.services.retention import RetentionService
from app.services.scanning import ScanningService
from app.services.text_in import TextInService
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
    manager_lock: ManagerLock  # the door: a manager's name and PIN
    managers: ManagerService  # who the managers are; a signed-in manager changes their own PIN here
    export_dir: Path
    catalogue: ProviderCatalogue  # the providers the settings screens list
    devices: DeviceService  # the serial ports the settings screens offer
    demo: bool = False
    scanning: ScanningService | None = None
    capture: CaptureService | None = None  # receipts read from a legacy POS's print stream
    text_in: TextInService | None = None  # the customer screen's text-in codes, when `[texts] text_in`
    inbound_texts: InboundTextService | None = None  # customers' texts to the store, for the manager's inbox
    retention: RetentionService | None = None  # retention periods, purges and legal holds (the Records tab)
    customers: CustomerRightsService | None = None  # find, export and forget a customer (the Customers tab)
    consent: ConsentService | None = None  # the consent ledger: a manager stops a customer's texts or emails
    signed_in: str | None = None  # the manager who unlocked the manager window, until it locks
    demo_manager: tuple[str, str] | None = None  # the demo's manager and PIN, shown on the sign-in page

    @property
    def actor(self) -> str:
        """Who the audit log names for a manager's action: the manager signed in now."""
        if self.signed_in is None:
            raise AccessDenied("Sign in as a manager first.")
        return self.signed_in

    @property
    def store_name(self) -> str:
        """The store's name as the receipts show it."""
        return self.settings.store.name
