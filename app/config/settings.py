"""The settings file: store details, routing, and each provider's non-secret settings.

Secrets never live here: a provider section holding one of the provider's secret fields is
refused with the command that stores it in the keyring instead. Nor does card data: a value holding
a full card number is refused naming its key, never the value (`Settings._no_card_numbers`).
"""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.domain.barcodes import DEFAULT_LOYALTY_PREFIXES, DEFAULT_RECEIPT_PATTERN
from app.domain.cards import field_name, find_card_numbers
from app.domain.channels import Channel, Language
from app.domain.doubt import DEFAULT_IN_DOUBT, InDoubtPolicy
from app.domain.errors import ConfigurationError
from app.domain.receipt import StoreProfile
from app.domain.routing import Routing

ProviderValue = str | int | float | bool


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


STORE_IDENTITY = ("name", "address", "phone")
"""The `[store]` keys every receipt prints; an installation sets its own, nothing supplies them."""


class StoreSettings(_Section):
    """The store as its receipts show it. `name`, `address` and `phone` start unset: the kiosk's set-up
    assistant asks for them, `serve` refuses to start without them, and only the demo has its own."""

    id: str = "store-0042"
    name: str = ""
    address: str = ""
    phone: str = ""
    website: str | None = None
    footer: str = ""
    preferences_url: str | None = None
    unsubscribe_email: str | None = Field(
        default=None,
        description="The mailbox List-Unsubscribe's mailto: names (its inbound webhook stops the sender's e-receipts).",
    )
    default_language: Language = Language.EN
    timezone: str | None = Field(
        default=None,
        description="The store's time zone (e.g. America/Chicago), in which the windows show times; "
        "None: this computer's.",
    )
    logo: str | None = Field(
        default=None,
        description="The store's logo, a PNG or SVG file (absolute path, at most 512 KB), shown atop e-mail receipts.",
    )

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not a time zone; use a name such as America/Chicago") from None
        return value

    def profile(self) -> StoreProfile:
        return StoreProfile(self.name, self.address, self.phone, self.website, self.footer, self.preferences_url)

    def missing(self) -> tuple[str, ...]:
        """The identity keys (`name`, `address`, `phone`) that are not set."""
        return tuple(key for key in STORE_IDENTITY if not str(getattr(self, key)).strip())


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8765
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 1024 * 1024
    public_url: str | None = Field(
        default=None, description="The base URL providers reach this API at, for status callbacks."
    )
    tls_cert: str | None = Field(default=None, description="PEM certificate file: needed to listen beyond loopback.")
    tls_key: str | None = Field(default=None, description="PEM private key file of `tls_cert`.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the API answers to besides localhost, 127.0.0.1 and ::1 (DNS rebinding guard).",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins (https://pos.example) allowed to call the API."
    )
    requests_per_minute: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=600, description="Per API token; a client beyond it gets 429 with Retry-After."
    )
    webhook_requests_per_minute: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1200, description="Per webhook source (platform or provider) and sending address."
    )


class DispatchSettings(_Section):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 16
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 10
    max_age_hours: Annotated[float, Field(gt=0)] = 48
    lease_seconds: Annotated[float, Field(ge=5)] = 60
    base_delay_seconds: Annotated[float, Field(gt=0)] = 2.0
    max_delay_seconds: Annotated[float, Field(gt=0)] = 900.0
    bounce_fallback: bool = Field(default=True, description="After a bounce, send on the customer's other channel.")
    in_doubt: dict[Channel, InDoubtPolicy] = Field(
        default_factory=lambda: dict(DEFAULT_IN_DOUBT),
        description="Per channel, what to do with an attempt a crash left in doubt when its provider cannot be "
        "asked whether it took the message: resend (marked as a possible duplicate) or hold (a manager decides).",
    )
    status_check_after_minutes: Annotated[float, Field(gt=0, le=7 * 24 * 60)] = Field(
        default=60.0,
        description="Ask the provider once for the status of a message sent this long ago whose final status "
        "(delivered, bounced) never came, where the provider has a status API.",
    )

    @field_validator("in_doubt", mode="after")
    @classmethod
    def _every_channel(cls, value: dict[Channel, InDoubtPolicy]) -> dict[Channel, InDoubtPolicy]:
        """A channel the file does not name keeps its default."""
        return {**DEFAULT_IN_DOUBT, **value}


class FollowUpSettings(_Section):
    after_delivery: list[str] = Field(
        default_factory=list, description="Providers told about each receipt once it went out (CRM, audit chat)."
    )
    daily_summary: list[str] = Field(default_factory=list, description="Providers that get the end-of-day summary.")
    daily_summary_at: time | None = Field(default=None, description="Local time of the end-of-day summary.")


class DatabaseSettings(_Section):
    url: str | None = None


class ReconcileSettings(_Section):
    """The catch-up poll of commerce platforms, for webhooks missed while the store was offline."""

    enabled: bool = Field(default=True, description="Poll the platforms' order lists for missed webhooks.")
    interval_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 5.0
    lookback_hours: Annotated[float, Field(gt=0, le=30 * 24)] = Field(
        default=24.0, description="How far back the first poll looks."
    )
    overlap_minutes: Annotated[float, Field(ge=0, le=24 * 60)] = Field(
        default=10.0, description="Each poll starts this long before the last successful one."
    )
    retry_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=15.0, description="First retry after a failed poll; doubles up to the interval."
    )


class ScannerSettings(_Section):
    enabled: bool = Field(default=False, description="Read a barcode scanner on a serial port.")
    port: str = Field(default="/dev/ttyACM0", description="Serial port or pyserial URL: /dev/ttyACM0, COM3, loop://.")
    baud: Annotated[int, Field(ge=300, le=921600)] = 9600
    terminator: str = Field(default="CR", description="CR, LF, CRLF, or a byte escape such as \\x03.")
    wedge_enabled: bool = Field(default=True, description="Tell a keyboard-wedge scanner's bursts from typing.")
    wedge_max_gap_ms: Annotated[float, Field(gt=0, le=500)] = 40.0
    wedge_min_length: Annotated[int, Field(ge=2, le=128)] = 6
    loyalty_prefixes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LOYALTY_PREFIXES), description="Loyalty card codes start so."
    )
    loyalty_patterns: list[str] = Field(
        default_factory=list, description="Regexes a loyalty code matches whole; a group `id` is the loyalty id."
    )
    receipt_pattern: str = Field(
        default=DEFAULT_RECEIPT_PATTERN,
        description="Regex of the barcode printed on receipts; its group `sale_id` is the sale id.",
    )


class PrinterSettings(_Section):
    """The lane's ESC/POS receipt printer: the PRINT channel prints on it when `enabled`."""

    enabled: bool = Field(default=False, description="Print paper receipts (the PRINT channel).")
    kind: Literal["serial", "network", "dummy"] = Field(
        default="serial", description="serial port, raw TCP (port 9100), or dummy (writes to a file)."
    )
    port: str = Field(default="/dev/ttyUSB0", description="Serial port or pyserial URL: /dev/ttyUSB0, COM3.")
    baud: Annotated[int, Field(ge=1200, le=921600)] = 19200
    host: str | None = Field(default=None, description="Network printer address.")
    network_port: Annotated[int, Field(ge=1, le=65535)] = 9100
    paper: Literal[80, 58] = Field(default=80, description="Roll width in mm: 80 (48 columns) or 58 (32 columns).")
    dpi: Literal[203, 180] = Field(
        default=203, description="The print head's resolution: 203 for most printers, 180 for Epson's TM-T88 line."
    )
    codes: Literal["barcode", "qr", "both", "none"] = Field(
        default="barcode", description="How the sale id is printed: CODE128 barcode, QR code, both or none."
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    check_status: bool = Field(default=True, description="Ask the printer for paper/cover status before each job.")
    spool: str | None = Field(default=None, description="Dummy printer: the file receipts are appended to.")

    @model_validator(mode="after")
    def _network_needs_host(self) -> PrinterSettings:
        if self.enabled and self.kind == "network" and not self.host:
            raise ValueError('kind = "network" needs host = the printer\'s address')
        return self


class CaptureLayoutSettings(_Section):
    """How the legacy POS lays out its receipts: a preset, with any pattern replaced by name."""

    preset: str = Field(default="classic", description="classic, compact, or custom (patterns only).")
    patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Regexes with named groups by line kind (item, weighed, savings, subtotal, tax, total, "
        "tender, ...), and datetime_format, taxable_flags, snap_flags.",
    )


class CaptureSettings(_Section):
    """Print-stream capture: sit between a legacy POS and its printer, and read the receipts it prints."""

    enabled: bool = False
    mode: Literal["serial", "tcp"] = "serial"
    name: str = Field(default="pos", max_length=30, description="Source name: events come from `capture:<name>`.")
    pos_port: str = Field(default="/dev/ttyUSB0", description="Serial port (or pyserial URL) the POS prints to.")
    printer_port: str = Field(default="/dev/ttyUSB1", description="Serial port of the real printer.")
    baud: Annotated[int, Field(ge=300, le=921600)] = 9600
    listen_host: str = "0.0.0.0"  # noqa: S104 (the POS reaches this terminal over the store LAN)
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 9100
    printer_host: str = "192.168.1.50"
    printer_tcp_port: Annotated[int, Field(ge=1, le=65535)] = 9100
    lane: str = Field(default="1", description="Lane used when the receipt prints none.")
    timezone: str | None = Field(default=None, description="The store's zone (e.g. America/Chicago); None: local.")
    layout: CaptureLayoutSettings = CaptureLayoutSettings()


class TextSettings(_Section):
    """Limits on texts (SMS and WhatsApp): where they may go and how many, so a leaked token or a
    mistyped number cannot run up the store's bill."""

    allowed_countries: list[str] = Field(
        default_factory=lambda: ["US", "CA"],
        description="ISO 3166 country codes texts may go to (by the number's calling code).",
    )
    per_number_per_day: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10, description="Texts to one number in 24 hours; more are refused."
    )
    resends_to_new_numbers_per_hour: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=20, description="Resends to numbers no receipt went to before, per hour."
    )
    new_number_alarm_per_hour: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=60, description="Texts to numbers never texted before, per hour, above which health raises an alarm."
    )
    text_in: bool = Field(
        default=True,
        description="Show a QR code on the customer screen: texting its sale code to the store sends the receipt.",
    )
    text_in_number: str | None = Field(
        default=None,
        description="The number customers text (E.164); None: the Twilio provider's from_number.",
    )


class ManagerSettings(_Section):
    """The manager PINs' lockout: after `max_tries` wrong PINs a manager is locked, each time longer."""

    max_tries: Annotated[int, Field(ge=1, le=20)] = 5
    first_lockout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    max_lockout_seconds: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] = 24 * 3600.0


class RetentionSettings(_Section):
    """How long each kind of record is kept; the daily purge removes what is older (a legal hold keeps it).

    The defaults, and why, are in the README ("What is kept, and for how long").
    """

    enabled: bool = Field(default=True, description="Run the purge once a day.")
    purge_at: time = Field(default=time(3, 30), description="Local time of the store when the daily purge runs.")
    receipts_days: Annotated[int, Field(ge=30, le=36_500)] = Field(
        default=7 * 365, description="Receipts as sent, their sales, deliveries and attempts (financial records)."
    )
    contacts_after_revocation_days: Annotated[int, Field(ge=0, le=3650)] = Field(
        default=30, description="A customer's contact details after they revoked every consent."
    )
    contacts_idle_days: Annotated[int, Field(ge=30, le=36_500)] = Field(
        default=2 * 365, description="A customer's contact details after their last visit."
    )
    provider_payloads_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=90, description="Raw provider payloads (status callbacks, provider errors)."
    )
    captures_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=30, description="Print streams captured from a legacy POS."
    )
    inbound_messages_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=90, description="Texts customers sent the store."
    )


class HubSettings(_Section):
    """This lane's hub: where its records go and its customers' preferences come from (`receiptdesk serve
    --hub` runs one). The lane keeps working alone when the hub is away, and catches up after."""

    url: str | None = Field(default=None, description="The hub's base URL (https://hub.store.lan:8765); none: no hub.")
    lane: str = Field(
        default="1", max_length=30, description="This terminal's lane; the hub knows it as <store id>/<lane>."
    )
    push_every_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=2.0, description="How often new records are pushed (at once after a sale, at most this far apart)."
    )
    pull_every_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=15.0, description="How often customers' preferences, consents and opt-outs are pulled."
    )
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = Field(default=500, description="Records per push.")


def _default_routing() -> dict[Channel, str | list[str]]:
    return {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}


class Settings(_Section):
    store: StoreSettings = StoreSettings()
    api: ApiSettings = ApiSettings()
    dispatch: DispatchSettings = DispatchSettings()
    database: DatabaseSettings = DatabaseSettings()
    followups: FollowUpSettings = FollowUpSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    printer: PrinterSettings = PrinterSettings()
    scanner: ScannerSettings = ScannerSettings()
    capture: CaptureSettings = CaptureSettings()
    texts: TextSettings = TextSettings()
    managers: ManagerSettings = ManagerSettings()
    retention: RetentionSettings = RetentionSettings()
    hub: HubSettings = HubSettings()
    routing: dict[Channel, str | list[str]] = Field(
        default_factory=lambda: _default_routing(),
        description="Per channel a provider, or an ordered list: the primary first, then fallbacks.",
    )
    providers: dict[str, dict[str, ProviderValue]] = Field(default_factory=dict)
    platforms: dict[str, dict[str, ProviderValue]] = Field(
        default_factory=dict, description="Commerce platforms whose webhooks this terminal takes."
    )

    @model_validator(mode="after")
    def _no_card_numbers(self) -> Settings:
        """Refuse a settings value (or key) holding a full card number, naming the key and never the value.

        Raises `ConfigurationError` itself (not a pydantic error, whose text would carry the value).
        """
        found = next(find_card_numbers(self.model_dump(mode="json")), None)
        if found is not None:
            raise ConfigurationError(
                f"Settings: {field_name(found)} looks like a full card number; no setting holds card data."
            )
        return self


def routing_of(settings: Settings) -> Routing:
    """The routing table with every entry as an ordered chain."""
    return Routing({ch: (tuple(v) if isinstance(v, list) else (v,)) for ch, v in settings.routing.items() if v})


def store_problem(settings: Settings, path: Path) -> str | None:
    """One line naming the `[store]` keys that are not set and the file they go in; None when all are."""
    missing = settings.store.missing()
    if not missing:
        return None
    keys = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
    return f"The store is not set up: set {keys} under [store] in {path} (every receipt prints them)."


def require_store(settings: Settings, path: Path) -> None:
    """Raise `ConfigurationError` (see `store_problem`) unless the store's name, address and phone are set."""
    problem = store_problem(settings, path)
    if problem:
        raise ConfigurationError(problem)


def load_settings(path: Path | None, *, must_exist: bool = False) -> Settings:
    """Read the TOML file at `path`; a missing optional file gives the defaults."""
    if path is None or not path.exists():
        if must_exist and path is not None:
            raise ConfigurationError(f"The settings file {path} does not exist.")
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"{path}: {where}: {first['msg']}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not UTF-8 text (at byte {exc.start + 1}): save it as UTF-8.") from None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {path}: {exc.strerror}") from None
