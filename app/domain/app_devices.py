"""A customer's app install that receives push receipts: its platform and its push registration token.

The token is the push service's address for one install of the store's app (an FCM registration
token). It is as private as a phone number: shown only masked (`mask_device_token`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.errors import ValidationFailed

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_:.\-]{20,254}")
"""FCM registration tokens are letters, digits, `_`, `-` and `:` (APNs device tokens are hex); at most
254 characters, the longest recipient a delivery keeps (`deliveries.recipient`)."""
APP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}")


class Platform(StrEnum):
    """Where the app runs."""

    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class AppDevice:
    """One registered app install of a customer."""

    id: int
    customer_id: int
    platform: Platform
    app: str | None
    token: str
    registered_by: str
    created_at: datetime
    last_seen_at: datetime


def check_token(raw: object) -> str:
    """The device token as given, or `ValidationFailed` saying what a token looks like."""
    if not isinstance(raw, str) or not TOKEN_PATTERN.fullmatch(raw):
        raise ValidationFailed(
            "token must be the push registration token the app received: 20 to 254 letters, digits, "
            "'_', '-', ':' or '.'.",
            field="token",
        )
    return raw


def check_platform(raw: object) -> Platform:
    """The platform, or `ValidationFailed` naming the three accepted."""
    try:
        return Platform(str(raw)) if isinstance(raw, str) else Platform("")
    except ValueError:
        raise ValidationFailed("platform must be android, ios or web.", field="platform") from None


def check_app(raw: object) -> str | None:
    """The app's name (optional), or `ValidationFailed`."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not APP_PATTERN.fullmatch(raw):
        raise ValidationFailed("app must be a short name: up to 64 letters, digits, spaces or '._:/-'.", field="app")
    return raw


def mask_device_token(token: str) -> str:
    """`device …a1b2c3`: the last six characters, enough to tell two installs apart."""
    return f"device …{token[-6:]}" if len(token) > 6 else "device …"


def looks_like_device_token(address: str) -> bool:
    """Whether a delivery's recipient is a push token rather than an email address or a phone number."""
    return "@" not in address and not address.startswith("+") and TOKEN_PATTERN.fullmatch(address) is not None


GONE_CODES = frozenset({"UNREGISTERED"})
"""Push services' codes for an install that is gone (FCM v1 `UNREGISTERED`, HTTP 404:
firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode): the token will never work again."""
GONE_REASON = "app device gone"
"""A push delivery's reason when its device was gone: the dispatcher removes the device."""
GONE_ERROR = "The app on this device was uninstalled or signed out, so the device was removed."
