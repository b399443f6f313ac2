"""The text limits' decisions and sentences: countries by calling code and area code, caps, the alarm."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from app.domain.channels import Channel
from app.domain.text_limits import (
    DEFAULT_LIMITS,
    NewNumberTexts,
    TextLimits,
    country_refusal,
    destination,
    is_text,
    new_number_resend_refusal,
    number_cap_refusal,
)

UK = "+447400123456"
TORONTO = "+14165550123"
JAMAICA = "+18765550123"
SPRINGFIELD = "+12175550100"
SAN_JUAN = "+17875551234"
FREEPHONE = "+80012345678"


@pytest.mark.parametrize(
    ("number", "country", "code"),
    [(UK, "GB", 44), (TORONTO, "CA", 1), (JAMAICA, "JM", 1), (SPRINGFIELD, "US", 1), (SAN_JUAN, "PR", 1)],
)
def test_a_numbers_country_comes_from_its_calling_code_and_within_plus_one_its_area_code(
    number: str, country: str, code: int
) -> None:
    assert destination(number).country == country
    assert destination(number).calling_code == code


def test_by_default_the_us_and_canada_are_allowed_and_the_uk_and_jamaica_are_not() -> None:
    assert country_refusal(SPRINGFIELD, DEFAULT_LIMITS) is None
    assert country_refusal(TORONTO, DEFAULT_LIMITS) is None
    uk = country_refusal(UK, DEFAULT_LIMITS)
    assert uk == (
        "Texts to numbers in GB (+44) are not allowed here (allowed: CA, US): send this receipt by email or print it."
    )
    jamaica = country_refusal(JAMAICA, DEFAULT_LIMITS)
    assert jamaica is not None and "JM (+1)" in jamaica
    assert country_refusal(SAN_JUAN, DEFAULT_LIMITS) is not None  # Puerto Rico is its own entry


def test_a_number_of_no_country_is_never_allowed() -> None:
    refusal = country_refusal(FREEPHONE, TextLimits(allowed_countries=frozenset({"US", "CA", "001"})))
    assert refusal is not None and "an international service (+800)" in refusal


@dataclass
class TextsSection:
    """The settings' `texts` section as the settings file gives it."""

    allowed_countries: list[str] = field(default_factory=lambda: ["us", " jm "])
    per_number_per_day: int = 3
    resends_to_new_numbers_per_hour: int = 5
    new_number_alarm_per_hour: int = 7


def test_limits_from_the_settings_take_country_codes_in_any_case() -> None:
    limits = TextLimits.of(TextsSection())
    assert limits == TextLimits(frozenset({"US", "JM"}), 3, 5, 7)
    assert country_refusal(JAMAICA, limits) is None
    assert country_refusal(TORONTO, limits) is not None


def test_no_allowed_country_refuses_every_text() -> None:
    refusal = country_refusal(SPRINGFIELD, TextLimits(allowed_countries=frozenset()))
    assert refusal is not None and "(allowed: none)" in refusal


def test_the_per_number_cap_lets_the_tenth_text_go_and_refuses_the_eleventh() -> None:
    assert number_cap_refusal(9, DEFAULT_LIMITS) is None
    assert number_cap_refusal(10, DEFAULT_LIMITS) == (
        "This number has had 10 texts in the last 24 hours (at most 10): send this receipt by email or print it."
    )


def test_resends_to_new_numbers_stop_at_twenty_an_hour() -> None:
    assert new_number_resend_refusal(19, DEFAULT_LIMITS) is None
    refusal = new_number_resend_refusal(20, DEFAULT_LIMITS)
    assert refusal is not None and refusal.startswith("20 resends went to new numbers in the last hour")


def test_the_alarm_goes_off_above_its_threshold_in_one_sentence() -> None:
    assert NewNumberTexts(60, 60).alarm is None
    assert NewNumberTexts(143, 60).alarm == (
        "143 texts to new numbers in the last hour (alarm at 60): check the API tokens and the POS."
    )


def test_sms_and_whatsapp_are_texts_and_nothing_else_is() -> None:
    assert {c for c in Channel if is_text(c)} == {Channel.SMS, Channel.WHATSAPP}
