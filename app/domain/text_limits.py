"""Where texts may go and how many: so a leaked API token or a mistyped number cannot run up the bill.

Texts are SMS and WhatsApp messages, both sent to a phone number in E.164 form. Three rules decide
whether one may be queued, in this order:

1. the number's country (by its calling code and, within +1, its area code: the United States,
   Canada and each Caribbean country of the North American plan are told apart) is in
   `allowed_countries`;
2. the number has had fewer than `per_number_per_day` texts in the 24 hours before;
3. for a resend by hand to a number no text ever went to, fewer than
   `resends_to_new_numbers_per_hour` such resends went out in the hour before.

Beyond that, texts to new numbers are watched: more than `new_number_alarm_per_hour` in an hour
raises an alarm in the health. The counts come from the outbox (`app.storage.text_counts`); this
module holds the decisions and the sentences a person reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import phonenumbers

from app.domain.channels import Channel
from app.domain.errors import ValidationFailed

TEXT_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})
"""The channels whose messages are texts to a phone number, billed per message."""

DAY = timedelta(hours=24)
"""The rolling window of the per-number cap."""

HOUR = timedelta(hours=1)
"""The rolling window of the resends to new numbers and of the new-number alarm."""

NOT_A_COUNTRY = "an international service"
"""How a number that belongs to no country (a `+800` or `+882` service number) is named."""


class TextLimitFields(Protocol):
    """The text limits as the settings file has them (`texts` in the settings)."""

    @property
    def allowed_countries(self) -> Iterable[str]: ...

    @property
    def per_number_per_day(self) -> int: ...

    @property
    def resends_to_new_numbers_per_hour(self) -> int: ...

    @property
    def new_number_alarm_per_hour(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TextLimits:
    """Where texts may go and how many; the defaults are the settings' defaults."""

    allowed_countries: frozenset[str] = frozenset({"US", "CA"})
    per_number_per_day: int = 10
    resends_to_new_numbers_per_hour: int = 20
    new_number_alarm_per_hour: int = 60

    @classmethod
    def of(cls, fields: TextLimitFields) -> TextLimits:
        """The limits of the settings' `texts` section (country codes upper-cased)."""
        return cls(
            allowed_countries=frozenset(code.strip().upper() for code in fields.allowed_countries),
            per_number_per_day=fields.per_number_per_day,
            resends_to_new_numbers_per_hour=fields.resends_to_new_numbers_per_hour,
            new_number_alarm_per_hour=fields.new_number_alarm_per_hour,
        )


DEFAULT_LIMITS = TextLimits()
"""The limits of a site whose settings say nothing about texts."""


class TextRefused(ValidationFailed):
    """A text that the limits do not let go out; nothing was queued. The message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="phone")


@dataclass(frozen=True, slots=True)
class Destination:
    """A phone number's country: its ISO 3166 code (None when it belongs to none) and calling code."""

    country: str | None
    calling_code: int | None

    @property
    def words(self) -> str:
        """`GB (+44)`, or what a number of no country is."""
        code = f"+{self.calling_code}" if self.calling_code is not None else "an unknown calling code"
        return f"{self.country} ({code})" if self.country is not None else f"{NOT_A_COUNTRY} ({code})"


def destination(number: str) -> Destination:
    """The country of an E.164 number (`+18765550123` is `JM`, not `US`); no country when it has none."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return Destination(None, None)
    region = phonenumbers.region_code_for_number(parsed)
    country = region if region and region.isalpha() and region != "ZZ" else None
    return Destination(country, parsed.country_code)


def is_text(channel: Channel) -> bool:
    """True for a channel whose messages are texts (SMS, WhatsApp)."""
    return channel in TEXT_CHANNELS


def country_refusal(number: str, limits: TextLimits) -> str | None:
    """Why a text to `number` may not go to its country, or None when the country is allowed."""
    where = destination(number)
    if where.country is not None and where.country in limits.allowed_countries:
        return None
    allowed = ", ".join(sorted(limits.allowed_countries)) or "none"
    return (
        f"Texts to numbers in {where.words} are not allowed here (allowed: {allowed}): "
        "send this receipt by email or print it."
    )


def number_cap_refusal(texts_in_day: int, limits: TextLimits) -> str | None:
    """Why one more text to a number that had `texts_in_day` in the last 24 hours may not go, or None."""
    if texts_in_day < limits.per_number_per_day:
        return None
    return (
        f"This number has had {texts_in_day} texts in the last 24 hours (at most {limits.per_number_per_day}): "
        "send this receipt by email or print it."
    )


def new_number_resend_refusal(resends_in_hour: int, limits: TextLimits) -> str | None:
    """Why one more resend to a never-texted number may not go after `resends_in_hour` of them, or None."""
    if resends_in_hour < limits.resends_to_new_numbers_per_hour:
        return None
    return (
        f"{resends_in_hour} resends went to new numbers in the last hour "
        f"(at most {limits.resends_to_new_numbers_per_hour}): check the number, or send it by email."
    )


@dataclass(frozen=True, slots=True)
class NewNumberTexts:
    """How many numbers were first texted in the last hour, and the count the alarm goes off above."""

    count: int
    alarm_at: int

    @property
    def alarm(self) -> str | None:
        """The alarm sentence when the count is above the threshold, else None."""
        if self.count <= self.alarm_at:
            return None
        return (
            f"{self.count} texts to new numbers in the last hour (alarm at {self.alarm_at}): "
            "check the API tokens and the POS."
        )
