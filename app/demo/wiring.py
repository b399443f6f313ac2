"""The demo's wiring: the same settings and secrets, with every provider and platform at the local sandbox.

`receiptdesk demo` (kiosk or headless), the screenshots and the tests build their runtime from
these; a real installation never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config.settings import STORE_IDENTITY, Settings, StoreSettings
from app.domain.channels import Channel
from app.domain.receipt import StoreProfile
from app.sandbox.accounts import accounts as sandbox_accounts
from app.sandbox.callbacks import SENDGRID_WEBHOOK_PUBLIC_KEY
from app.sandbox.fire import PLATFORM_SECRETS, platform_settings
from app.sandbox.pos import STORE_TZ

DEMO_STORE = StoreSettings(
    name="ReceiptDesk Demo Market",
    address="100 Main Street, Springfield, IL 62701",
    phone="(217) 555-0100",
    timezone=STORE_TZ.key,  # the simulated register's clock
)
"""The demo's store. Only the demo's settings get it (when the user's settings name no store)."""

DEMO_PROFILE: StoreProfile = DEMO_STORE.profile()
"""The demo store as receipts show it."""


def demo_store(settings: Settings) -> Settings:
    """`settings` as they are when they name a store; else with the demo store's name, address and phone."""
    if not settings.store.missing():
        return settings
    identity = {key: getattr(DEMO_STORE, key) for key in (*STORE_IDENTITY, "timezone")}
    return settings.model_copy(update={"store": settings.store.model_copy(update=identity)})


def sandbox_settings(
    settings: Settings,
    sandbox_url: str,
    *,
    public_url: str | None = None,
    routing: Mapping[Channel, str | list[str]] | None = None,
) -> Settings:
    """The same settings, with every provider pointed at the local sandbox and its accounts.

    `routing` picks providers per channel (default: SendGrid for email, Twilio for SMS). With
    `public_url` (where this app's API listens) the sandbox's status callbacks are verified exactly
    as real ones: Twilio signs with the sandbox Auth Token, SendGrid with the sandbox key. Settings
    that name no store get the demo store (`demo_store`).
    """
    settings = demo_store(settings)
    providers: dict[str, dict[str, Any]] = {
        provider: dict(account.settings)
        for provider, account in sandbox_accounts(sandbox_url, store_name=settings.store.name).items()
    }
    providers["sendgrid"]["webhook_public_key"] = SENDGRID_WEBHOOK_PUBLIC_KEY
    chosen: dict[Channel, str | list[str]] = dict(routing or {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"})
    api = settings.api.model_copy(update={"public_url": public_url}) if public_url else settings.api
    platforms: dict[str, dict[str, Any]] = dict(platform_settings(sandbox_url))  # order fetches and polls
    printer = (
        settings.printer
        if settings.printer.enabled
        else settings.printer.model_copy(
            update={"enabled": True, "kind": "dummy"}  # "Print" works with no hardware: see `build_printer`
        )
    )
    return settings.model_copy(
        update={"providers": providers, "routing": chosen, "api": api, "platforms": platforms, "printer": printer}
    )


DEMO_NEW_NUMBER_ALARM = 100_000
"""The simulated POS texts a new random number with most sales: in the demo that is no spike."""


def demo_texts(settings: Settings) -> Settings:
    """The demo's settings with the alarm on texts to new numbers out of the simulated customers' way."""
    texts = settings.texts.model_copy(update={"new_number_alarm_per_hour": DEMO_NEW_NUMBER_ALARM})
    return settings.model_copy(update={"texts": texts})


def sandbox_secrets(sandbox_url: str) -> dict[str, dict[str, str]]:
    """The secrets of every sandbox account, by provider (they open only the local sandbox at `sandbox_url`)."""
    secrets = {provider: dict(account.secrets) for provider, account in sandbox_accounts(sandbox_url).items()}
    return {**secrets, **{platform: dict(values) for platform, values in PLATFORM_SECRETS.items()}}
