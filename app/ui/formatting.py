"""How the windows write money, dates, times, phone numbers, ages, channels and delivery states.

US conventions from Qt's own locale data (`QLocale`, which carries CLDR): `Dec 4, 2026`, `3:10 PM`,
`(217) 555-0100`, `$12.34`. Staff windows are in English; the customer screen passes the
customer's language and gets Spanish as written in the US (`4 dic 2026`, `3:10 p.m.`, still
`$12.34`). A phone number is joined with a no-break space and a non-breaking hyphen so a label
never wraps it.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from PySide6.QtCore import QDate, QLocale, QTime

from app.domain.channels import Channel, Language
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState

NBSP = "\u00a0"
"""No-break space."""
NB_HYPHEN = "\u2011"
"""Non-breaking hyphen."""

DATE_FORMAT = "MMM d, yyyy"
"""Qt's format of a US date, `Dec 4, 2026`: date pickers use it too."""

_FORMATS: dict[Language, tuple[QLocale.Language, str, str, str]] = {
    # Qt language; a date; a date in this year; a time (Qt format strings)
    Language.EN: (QLocale.Language.English, DATE_FORMAT, "MMM d", "h:mm AP"),
    Language.ES: (QLocale.Language.Spanish, "d MMM yyyy", "d MMM", "h:mm ap"),
}

STATE_WORDS: dict[DeliveryState, str] = {
    DeliveryState.QUEUED: "Queued",
    DeliveryState.SENDING: "Sending",
    DeliveryState.SENT: "Sent",
    DeliveryState.DELIVERED: "Delivered",
    DeliveryState.BOUNCED: "Bounced",
    DeliveryState.FAILED: "Failed",
    DeliveryState.DEAD: "Gave up",
    DeliveryState.UNKNOWN: "Unconfirmed",
    DeliveryState.HELD: "Held for a manager",
}

CHANNEL_WORDS: dict[Channel, str] = {
    Channel.EMAIL: "Email",
    Channel.SMS: "Text",
    Channel.WHATSAPP: "WhatsApp",
    Channel.PUSH: "Push",
    Channel.PRINT: "Print",
    Channel.CHAT: "Chat",
    Channel.CRM: "CRM",
}

RETRYABLE = frozenset({DeliveryState.FAILED, DeliveryState.DEAD, DeliveryState.BOUNCED})
"""States a cashier or manager can send again."""


def qt_locale(language: Language = Language.EN) -> QLocale:
    """The Qt locale of `language` as spoken in the United States (`en_US`, `es_US`)."""
    return QLocale(_FORMATS[language][0], QLocale.Country.UnitedStates)


def install_us_locale() -> None:
    """Make US English Qt's default, so every widget built afterwards (date pickers, spin boxes,
    calendars with weeks from Sunday) follows US conventions whatever the machine's locale."""
    QLocale.setDefault(qt_locale(Language.EN))


def money(amount: Decimal, language: Language = Language.EN) -> str:
    """`$1,234.50` (US Spanish writes dollars the same way)."""
    del language
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


_ZONE: tzinfo | None = None
"""The store's time zone, in which every window shows times (`use_zone`); None: this computer's."""


def use_zone(name: str | None) -> None:
    """Show times in the store's zone `name` (`[store] timezone`), or this computer's when None."""
    global _ZONE
    _ZONE = ZoneInfo(name) if name else None


def _local(when: datetime) -> datetime:
    return when.astimezone(_ZONE)


def in_store_zone(when: datetime) -> datetime:
    """`when` on the store's clocks (the zone every window shows)."""
    return _local(when)


def store_today() -> date:
    """Today's date on the store's clocks: the day a list of "today" means, whatever this computer's zone."""
    return datetime.now(_ZONE).date()


def qdate(value: QDate) -> date:
    """A QDate as a Python date."""
    return date(value.year(), value.month(), value.day())


def store_qdate() -> QDate:
    """`store_today` for a date picker."""
    today = store_today()
    return QDate(today.year, today.month, today.day)


def store_time(day: date, at: time) -> datetime:
    """The moment `day` at `at` on the store's clocks, time-zone aware (midnight: the start of that store day)."""
    if _ZONE is None:
        return datetime.combine(day, at).astimezone()
    return datetime.combine(day, at, tzinfo=_ZONE)


def short_date(when: date | datetime, language: Language = Language.EN) -> str:
    """`Dec 4, 2026` (Spanish `4 dic 2026`); a datetime in local time."""
    day = _local(when).date() if isinstance(when, datetime) else when
    return qt_locale(language).toString(QDate(day.year, day.month, day.day), _FORMATS[language][1])


def clock_time(when: datetime, language: Language = Language.EN) -> str:
    """Local wall-clock time, 12-hour: `3:10 PM` (Spanish `3:10 p.m.`)."""
    local = _local(when)
    return qt_locale(language).toString(QTime(local.hour, local.minute), _FORMATS[language][3])


def date_time(when: datetime, language: Language = Language.EN) -> str:
    """Local date and time: `Dec 4, 2026, 3:10 PM`."""
    return f"{short_date(when, language)}, {clock_time(when, language)}"


def moment(when: datetime, now: datetime, language: Language = Language.EN) -> str:
    """As short as is still unambiguous beside `now`: `3:10 PM` today, `Dec 3, 3:10 PM` this year,
    else `Dec 3, 2025, 3:10 PM`. For lists whose rows may span days."""
    local, today = _local(when), _local(now)
    if local.date() == today.date():
        return clock_time(when, language)
    if local.year == today.year:
        day = qt_locale(language).toString(QDate(local.year, local.month, local.day), _FORMATS[language][2])
        return f"{day}, {clock_time(when, language)}"
    return date_time(when, language)


def nowrap(text: str) -> str:
    """`text` with its spaces and hyphens made non-breaking: a label keeps it on one line."""
    return text.replace(" ", NBSP).replace("-", NB_HYPHEN)


def phone(number: str) -> str:
    """A phone number as Americans write it, on one line: `(217) 555-0100`.

    Takes E.164 or digits as typed; a number outside North America is written in its
    international form; something that is no phone number comes back as it was.
    """
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    if parsed.country_code == 1 and len(str(parsed.national_number)) == 10:
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return nowrap(text)


def masked(address: str) -> str:
    """A contact masked for the screen (`(***) ***-7998`, `m***@gmail.com`), kept on one line."""
    return nowrap(mask_contact(address))


def age_text(seconds: float | None) -> str:
    """`45 s`, `3 min`, `2 h 5 min`, or `none`."""
    if seconds is None:
        return "none"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def state_word(state: DeliveryState) -> str:
    """A delivery state as staff read it."""
    return STATE_WORDS.get(state, state.value)


def channel_word(channel: Channel) -> str:
    """A channel as staff read it."""
    return CHANNEL_WORDS.get(channel, channel.value)
