"""Customer contacts, normalised so the same person is found however they typed it.

Phone numbers become E.164 with `phonenumbers` (US by default); email addresses are checked and
normalised with `email-validator` (syntax only: no DNS lookup at the till).
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.domain.app_devices import looks_like_device_token, mask_device_token
from app.domain.errors import ValidationFailed

DEFAULT_REGION = "US"


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return `raw` as E.164 (`+15551234567`), or raise `ValidationFailed` saying why not."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed("That is not a phone number.", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("That phone number is not valid.", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return the normalised address (domain lower-cased), or raise `ValidationFailed`."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(f"That email address is not valid: {exc}", field="email") from None
    return str(result.normalized)


def mask_email(address: str) -> str:
    """`j***@gmail.com`: enough for the customer to recognise, nothing for a passer-by."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(e164: str) -> str:
    """`(***) ***-4567`: only the last four digits are shown."""
    digits = "".join(c for c in e164 if c.isdigit())
    return f"(***) ***-{digits[-4:]}" if len(digits) >= 4 else "***"


def mask_contact(address: str) -> str:
    """Mask an email address or a phone number, whichever `address` is.

    A push token is shown as `device …` and its last six characters. A recipient with neither an `@`
    nor a digit is no one's contact but a device or service (the lane's printer, an audit channel)
    and is shown as it is.
    """
    if "@" in address:
        return mask_email(address)
    if looks_like_device_token(address):  # a push receipt's app device
        return mask_device_token(address)
    if not any(c.isdigit() for c in address):
        return address
    return mask_phone(address)
