"""`phonenumberslite` gives the answers `phonenumbers` gave.

The lite distribution is the same parser and the same number metadata without the geocoder, carrier
and time-zone data (40 MB that nothing here reads). Every expected outcome below is what our
normalisation gave with the full `phonenumbers` before the switch: US, Mexican and Spanish numbers
typed as cashiers and customers type them, and numbers that are not valid or not numbers at all.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import pytest

from app.domain.contacts import normalise_phone
from app.domain.errors import ValidationFailed

NOT_A_NUMBER = "not a number"
INVALID = "invalid"

CASES: list[tuple[str, str, str]] = [
    # United States (the default region): every way of writing one number, toll-free, NANP neighbours.
    ("(415) 555-2671", "US", "+14155552671"),
    ("415.555.2671", "US", "+14155552671"),
    ("+1 415 555 2671", "US", "+14155552671"),
    ("1-212-736-5000", "US", "+12127365000"),
    ("212 736 5000 ext. 12", "US", "+12127365000"),
    ("+1 (800) 275-2273", "US", "+18002752273"),
    ("2177530100", "US", "+12177530100"),
    ("(217) 555-0100", "US", "+12175550100"),
    ("+1 787 555 1234", "US", "+17875551234"),
    ("+1 416 555 0123", "US", "+14165550123"),
    ("55 1234 5678", "US", "+15512345678"),
    # Mexico: international from a US lane, national at a Mexican lane, the retired mobile prefixes.
    ("+52 55 1234 5678", "US", "+525512345678"),
    ("55 1234 5678", "MX", "+525512345678"),
    ("33 3669 3000", "MX", "+523336693000"),
    ("+52 (81) 8123-4567", "US", "+528181234567"),
    ("+52 1 55 1234 5678", "US", INVALID),
    ("044 55 1234 5678", "MX", INVALID),
    ("01 55 1234 5678", "MX", INVALID),
    # Spain: landlines and mobiles, with the 00 international prefix, from a US lane.
    ("+34 912 34 56 78", "US", "+34912345678"),
    ("612 34 56 78", "ES", "+34612345678"),
    ("0034 612345678", "ES", "+34612345678"),
    ("+34612345678", "US", "+34612345678"),
    ("+34 93 412 34 56", "ES", "+34934123456"),
    ("912345678", "ES", "+34912345678"),
    ("+34 512 34 56 78", "US", "+34512345678"),
    ("612 34 56 78", "US", INVALID),
    # Elsewhere.
    ("+44 20 7946 0018", "US", "+442079460018"),
    ("020 7946 0018", "GB", "+442079460018"),
    # Not valid, or not a number.
    ("12345", "US", INVALID),
    ("+1 555 123", "US", INVALID),
    ("(000) 000-0000", "US", INVALID),
    ("+1 415 555 26711", "US", INVALID),
    ("+34 12 345", "US", INVALID),
    ("+52 123", "US", INVALID),
    ("not a number", "US", NOT_A_NUMBER),
    ("", "US", NOT_A_NUMBER),
    ("+999 1234 5678", "US", NOT_A_NUMBER),
]


def outcome(raw: str, region: str) -> str:
    try:
        return normalise_phone(raw, region)
    except ValidationFailed as exc:
        refused = exc
    assert refused.field == "phone"
    return NOT_A_NUMBER if "not a phone number" in refused.message else INVALID


def test_the_lite_distribution_is_the_one_installed() -> None:
    assert distribution("phonenumberslite").version
    with pytest.raises(PackageNotFoundError):
        distribution("phonenumbers")


@pytest.mark.parametrize(("raw", "region", "expected"), CASES)
def test_normalisation_gives_the_answers_of_the_full_library(raw: str, region: str, expected: str) -> None:
    assert outcome(raw, region) == expected
