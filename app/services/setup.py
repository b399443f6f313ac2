"""First run: try the providers and the printer typed into the set-up assistant, before anything is saved.

`send_test` builds the provider's adapter from the settings and secrets as typed (a secret left
empty comes from the keyring or the environment, as it would at run time) and sends one short
message to the address or number the person gives: a real call to the provider, or to the sandbox
when its base URL points there. `print_test_page` prints a check page on the printer as configured.
Both answer with a `CheckResult` in one line, in the provider's or the printer's own words when it
failed. Nothing is saved here; the assistant saves through `SettingsStore`.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import httpx

from app.devices.escpos import encode
from app.devices.printer import Printer
from app.domain.channels import Channel
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.errors import ReceiptDeskError
from app.domain.message import OutboundMessage, SendStatus
from app.domain.plugins import Field, fields_set
from app.domain.printdoc import Paper, SaleCode
from app.domain.receipt import StoreProfile
from app.providers.registry import AdapterClass, adapter_class
from app.rendering.print_receipt import printer_check_page

Value = str | int | float | bool
"""A provider setting as the settings file holds it."""

SecretLookup = Callable[[str, str], str | None]
"""`(owner, field) -> value` of a stored secret (the keyring or the environment), or None."""

P = TypeVar("P")
"""How the face describes the printer (the `[printer]` settings); the wiring's factory builds the device."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How a test went, in one line for the person setting up."""

    ok: bool
    message: str


class SetupService(Generic[P]):
    """The set-up assistant's checks: a test message through a provider, a test page on the printer.

    `secret` looks up what is stored already; `printer_device` builds the printer the face describes.
    """

    def __init__(self, http: httpx.AsyncClient, secret: SecretLookup, printer_device: Callable[[P], Printer]) -> None:
        self._http = http
        self._secret = secret
        self._printer_device = printer_device

    async def missing(
        self, provider_id: str, settings: Mapping[str, Value], secrets: Mapping[str, str]
    ) -> tuple[str, ...]:
        """The labels of the provider's required fields that are neither typed nor stored already."""
        cls = adapter_class(provider_id)
        known = await self._secret_values(cls, secrets)
        given = fields_set(settings, cls.setting_fields) | fields_set(known, cls.secret_fields)
        declared: tuple[Field, ...] = (*cls.secret_fields, *cls.setting_fields)
        return tuple(f.label for f in declared if f.required and f.name not in given)

    async def send_test(
        self,
        provider_id: str,
        settings: Mapping[str, Value],
        secrets: Mapping[str, str],
        to: str,
        *,
        store_name: str,
    ) -> CheckResult:
        """Send one test message through `provider_id` as typed, to `to`; what the provider said."""
        cls = adapter_class(provider_id)
        missing = await self.missing(provider_id, settings, secrets)
        if missing:
            return CheckResult(False, f"{cls.display_name} still needs: {', '.join(missing)}.")
        try:
            message = _test_message(cls.capabilities.channel, to, store_name or "your store")
        except ReceiptDeskError as exc:
            return CheckResult(False, exc.message)
        section = {k: v for k, v in settings.items() if k != "rate_per_sec" and not k.startswith("webhook_")}
        values = await self._secret_values(cls, secrets)
        try:
            result = await cls.create(self._http, section, values).send(message)
        except ReceiptDeskError as exc:
            return CheckResult(False, exc.message)
        if result.status is SendStatus.REJECTED:
            return CheckResult(False, f"{cls.display_name} refused {message.to}: {result.detail or result.raw_status}")
        reference = f" (its id: {result.provider_message_id})" if result.provider_message_id else ""
        return CheckResult(True, f"{cls.display_name} took the test message for {message.to}{reference}.")

    async def print_test_page(
        self, printer: P, store: StoreProfile, *, paper: Paper, codes: SaleCode, dpi: int = 203
    ) -> CheckResult:
        """Print the check page for `paper` (a head of `dpi`), with `codes`, on the printer `printer`
        describes; what it said."""
        try:
            device = self._printer_device(printer)
            page = printer_check_page(store, f"{datetime.now():%Y-%m-%d %H:%M}", paper=paper, codes=codes, dpi=dpi)
            await asyncio.to_thread(device.print_job, encode(page))
        except ReceiptDeskError as exc:
            return CheckResult(False, exc.message)
        except OSError as exc:
            return CheckResult(False, f"The receipt printer failed: {exc.strerror or type(exc).__name__}.")
        return CheckResult(True, f"A test page went to the printer ({device.name}). Check it printed cleanly.")

    async def _secret_values(self, cls: AdapterClass, typed: Mapping[str, str]) -> dict[str, str | None]:
        names = tuple(f.name for f in cls.secret_fields)
        stored = await asyncio.to_thread(lambda: {name: self._secret(cls.provider_id, name) for name in names})
        return {name: typed.get(name) or stored[name] for name in names}


def _test_message(channel: Channel, to: str, store_name: str) -> OutboundMessage:
    """A short test for `channel`; raises `ValidationFailed` for an address or number that cannot be one."""
    if channel is Channel.EMAIL:
        to = normalise_email(to)
    elif channel in (Channel.SMS, Channel.WHATSAPP):
        to = normalise_phone(to)
    text = f"This is a test from ReceiptDesk at {store_name}. Receipts will reach customers this way."
    return OutboundMessage(
        channel=channel,
        to=to.strip(),
        idempotency_key=f"setup-test-{uuid.uuid4().hex}",
        subject=f"ReceiptDesk test message from {store_name}",
        text=text,
        html=f"<p>{html.escape(text)}</p>",
        sms_body=f"ReceiptDesk test from {store_name}: text receipts work.",
        push_payload={"title": "ReceiptDesk test", "body": text},
        metadata={"test": "setup"},
    )
