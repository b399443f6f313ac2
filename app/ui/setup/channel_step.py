"""One channel's step of the set-up assistant: which provider sends it, its settings and credentials,
and "Send a test", a real message through that provider to an address or number the person types.

The providers come from the catalogue service, and each one's form is the settings window's own
`ProviderForm`, so what is typed here is saved exactly as the settings window saves it: settings to
the file, credentials to the keyring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.config.settings import PrinterSettings, Settings, routing_of
from app.domain.channels import Channel
from app.domain.errors import ValidationFailed
from app.services.catalogue import ProviderCatalogue
from app.services.setup import SetupService
from app.ui import theme
from app.ui.settings.provider_form import ProviderForm
from app.ui.setup.steps import Step, show_result
from app.ui.tasks import TaskOwner, action, busy

NOUNS = {
    Channel.EMAIL: ("Email receipts", "e-mail", "an e-mail address you can check"),
    Channel.SMS: ("Text receipts", "text message", "a mobile number you can check, e.g. (217) 555-0147"),
}


class ChannelStep(Step):
    """The provider of one channel ("Not sent" allowed), its form, and a test send."""

    def __init__(
        self,
        channel: Channel,
        settings: Settings,
        catalogue: ProviderCatalogue,
        setup: SetupService[PrinterSettings],
        store_name: Callable[[], str],
        tasks: TaskOwner,
        parent: QWidget | None = None,
    ) -> None:
        title, noun, hint = NOUNS.get(channel, (f"{channel.value} receipts", channel.value, ""))
        super().__init__(
            title,
            f"Choose the service that sends each {noun}, type the account's details from its dashboard, "
            f"and send yourself a test. Credentials go to the keyring, never to the settings file.",
            parent,
        )
        self.channel = channel
        self.tasks = tasks
        self._setup = setup
        self._store_name = store_name
        self._sections = settings.providers
        self.provider = QComboBox()
        self.provider.setAccessibleName(f"{title} via")
        self.provider.addItem(f"Not sent: the customer screen does not offer {noun}s", None)
        self.forms: dict[str, ProviderForm] = {}
        for info in catalogue.for_channel(channel):
            self.provider.addItem(info.display_name, info.id)
            form = ProviderForm(info, title=f"{info.display_name} account")
            form.load(settings.providers.get(info.id, {}))
            self.forms[info.id] = form
        chain = routing_of(settings).chains.get(channel, ())
        self.provider.setCurrentIndex(max(0, self.provider.findData(chain[0] if chain else None)))
        self.provider.currentIndexChanged.connect(self._show_form)
        self.to = QLineEdit()
        self.to.setAccessibleName(f"Send a test {noun} to")
        self.to.setPlaceholderText(hint)
        self.test_button = QPushButton("&Send a test")
        self.test_button.setAccessibleName(f"Send a test {noun}")
        theme.touch_target(self.test_button)
        self.test_button.clicked.connect(self.send_test)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Test result")
        choose = QFormLayout()
        choose.addRow(f"{title} &via", self.provider)
        self.test_row = QWidget()
        test = QHBoxLayout(self.test_row)
        test.setContentsMargins(0, 0, 0, 0)
        test.addWidget(QLabel("Send a test to"))
        test.addWidget(self.to, 1)
        test.addWidget(self.test_button)
        self.body.addLayout(choose)
        for form in self.forms.values():  # only the chosen one shows, at its own height
            self.body.addWidget(form)
        self.body.addWidget(self.test_row)
        self.body.addWidget(self.result)
        self.body.addStretch(1)
        self._show_form()

    @property
    def chosen(self) -> str | None:
        """The provider id chosen, or None when the channel is not sent."""
        data = self.provider.currentData()
        return str(data) if data else None

    def _show_form(self) -> None:
        chosen = self.chosen
        for provider, form in self.forms.items():
            form.setVisible(provider == chosen)
        self.test_row.setVisible(chosen is not None)
        self.result.clear()

    def _form(self) -> tuple[str, ProviderForm] | None:
        chosen = self.chosen
        return (chosen, self.forms[chosen]) if chosen else None

    def section(self) -> dict[str, Any]:
        """The chosen provider's `[providers.<id>]` section as typed (empty when not sent)."""
        picked = self._form()
        return picked[1].values(self._sections.get(picked[0], {})) if picked else {}

    def typed_secrets(self) -> list[tuple[str, str, str]]:
        """`(provider, field, value)` for each credential typed for the chosen provider."""
        picked = self._form()
        return [(picked[0], name, value) for name, value in picked[1].typed_secrets().items()] if picked else []

    @action
    async def send_test(self) -> None:
        """Send one test message through the chosen provider as typed, and say what it answered."""
        picked = self._form()
        if picked is None:
            return
        provider, form = picked
        self.result.setText("Sending\u2026")
        with busy(self.test_button):
            result = await self._setup.send_test(
                provider, self.section(), form.typed_secrets(), self.to.text(), store_name=self._store_name()
            )
        show_result(self.result, result)

    async def check(self) -> None:
        picked = self._form()
        if picked is None:
            return
        provider, form = picked
        missing = await self._setup.missing(provider, self.section(), form.typed_secrets())
        if missing:
            raise ValidationFailed(
                f"{form.provider.display_name} needs: {', '.join(missing)}. Type them, or choose \u201cNot sent\u201d.",
                field=f"providers.{provider}",
            )
