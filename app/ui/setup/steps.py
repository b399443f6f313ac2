"""The set-up assistant's steps other than the channels: the store, the receipt printer, this kiosk.

Each step shows one of the settings window's own pages (`StorePage`, `PrinterGroup`, `KioskPage`),
so the assistant writes exactly what the settings window would; `check()` refuses to go on while
something the kiosk needs is missing, with a `ValidationFailed` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.config.settings import STORE_IDENTITY, PrinterSettings, Settings
from app.domain.errors import ValidationFailed
from app.domain.printdoc import Paper, SaleCode
from app.domain.receipt import StoreProfile
from app.services.setup import CheckResult, SetupService
from app.ui import theme
from app.ui.prefs import KioskPrefs
from app.ui.settings.device_fields import list_ports
from app.ui.settings.kiosk_page import KioskPage
from app.ui.settings.printer_group import PrinterGroup
from app.ui.settings.store_page import StorePage
from app.ui.tasks import TaskOwner, action, busy


class Step(QWidget):
    """One page of the assistant: a heading, a line saying what it is for, then its fields."""

    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setAccessibleName(title)
        self.setObjectName("page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # the kiosk's paper colour behind the step
        heading = QLabel(title)
        theme.set_font(heading, 1.4, bold=True)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.body = QVBoxLayout(self)
        self.body.addWidget(heading)
        self.body.addWidget(self.intro)

    async def check(self) -> None:
        """Raise `ValidationFailed` while the step lacks something the kiosk needs."""


def show_result(label: QLabel, result: CheckResult) -> None:
    """Show a test's outcome under its button: green when it worked, red in the provider's words when not."""
    label.setText(result.message)
    label.setProperty("hint", "good" if result.ok else "bad")
    label.style().unpolish(label)
    label.style().polish(label)


class StoreStep(Step):
    """The store's name, address and phone (required: every receipt prints them), branding and language."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(
            "The store",
            "This terminal has no store settings yet: five steps set it up, and Settings changes any of it "
            "later. Every receipt starts with the store's name, address and phone, so those three are "
            "needed. The default language is the one receipts use when the customer has chosen none.",
            parent,
        )
        self.page = StorePage()
        self.page.load(settings)
        self.body.addWidget(self.page, 1)

    def profile(self) -> StoreProfile:
        """The store as typed, as a receipt would show it."""
        fields = self.page.fields
        return StoreProfile(*(fields[key].text().strip() for key in STORE_IDENTITY))

    def values(self, current: dict[str, Any]) -> dict[str, Any]:
        """The `[store]` section with this step's changes."""
        return self.page.values(current)

    async def check(self) -> None:
        empty = [key for key in STORE_IDENTITY if not self.page.fields[key].text().strip()]
        if empty:
            self.page.fields[empty[0]].setFocus()
            named = ", ".join(empty[:-1]) + (" and " if len(empty) > 1 else "") + empty[-1]
            raise ValidationFailed(f"Type the store's {named}: every receipt prints them.", field=f"store.{empty[0]}")


class PrinterStep(Step):
    """The receipt printer's settings and a "Print a test page" that prints on it as typed."""

    def __init__(
        self,
        settings: Settings,
        setup: SetupService[PrinterSettings],
        store: Callable[[], StoreProfile],
        tasks: TaskOwner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Receipt printer",
            "Tick \u201cPrint paper receipts\u201d if this lane has an ESC/POS receipt printer, then print a "
            "test page. Leave it unticked for e-receipts only.",
            parent,
        )
        self._setup = setup
        self._store = store
        self._current = settings.printer.model_dump(mode="json", exclude_none=True)
        self.tasks = tasks
        self.group = PrinterGroup()
        self.group.load(settings.printer)
        self.test_button = QPushButton("&Print a test page")
        self.test_button.setAccessibleName("Print a test page")
        theme.touch_target(self.test_button)
        self.test_button.clicked.connect(self.print_test)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Test page result")
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.result, 1)
        self.body.addWidget(self.group)
        self.body.addLayout(row)
        self.body.addStretch(1)

    def show_ports(self, ports: Iterable[tuple[str, str]]) -> None:
        """Offer the serial ports this machine has now."""
        list_ports(self.group.port, ports)

    def values(self, current: dict[str, Any]) -> dict[str, Any]:
        """The `[printer]` section with this step's changes; `ValidationFailed` for a missing port or address."""
        return self.group.values(current)

    def printer(self) -> PrinterSettings:
        """The printer as typed, checked like the settings file."""
        data = self.group.values(self._current)
        try:
            return PrinterSettings.model_validate(data)
        except ValueError as exc:
            raise ValidationFailed(f"Receipt printer: {exc}", field="printer") from None

    @action
    async def print_test(self) -> None:
        """Print the check page on the printer as typed, and say how it went."""
        printer = self.printer()
        self.result.setText("Printing\u2026")
        with busy(self.test_button):
            result = await self._setup.print_test_page(
                printer, self._store(), paper=Paper(printer.paper), codes=SaleCode(printer.codes), dpi=printer.dpi
            )
        show_result(self.result, result)

    async def check(self) -> None:
        self.printer()  # a port or address the connection needs, values the settings accept


class KioskStep(Step):
    """Which screen faces the customer, how long it waits, and the manager PIN (required until one is stored)."""

    def __init__(self, prefs: KioskPrefs, parent: QWidget | None = None) -> None:
        super().__init__(
            "This kiosk and the manager PIN",
            "The manager PIN opens the manager view and the settings. It becomes the first manager, "
            "called “manager”; add each manager by name later with `receiptdesk managers add`.",
            parent,
        )
        self.page = KioskPage(pin_note="Only a salted hash of the PIN is kept, never the PIN itself.")
        self.page.load(prefs)
        self.page.pin.setPlaceholderText("4 to 12 digits")
        self.pin_stored = False
        self.body.addWidget(self.page, 1)

    def show_pin_stored(self, stored: bool) -> None:
        """A PIN is in the keyring already: typing one is optional."""
        self.pin_stored = stored
        self.page.pin.setPlaceholderText("stored \u2014 type to replace" if stored else "4 to 12 digits")

    def new_pin(self) -> str | None:
        """The PIN typed (checked), or None to keep the stored one."""
        return self.page.new_pin()

    async def check(self) -> None:
        pin = self.page.new_pin()
        if pin is None and not self.pin_stored:
            self.page.pin.setFocus()
            raise ValidationFailed("Choose a manager PIN (4 to 12 digits) and type it twice.", field="pin")
