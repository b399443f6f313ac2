"""What erasing a customer takes out of text: every form their name, email, phone or loyalty id can take.

A receipt as sent stays a financial record, but without the person: the strings that named or
reached them are replaced. A phone number is looked for as typed at a till in the usual ways (E.164,
international, national, digits with and without the country code); an address and a name in any
case, and as HTML escapes them. A name is also looked for word by word (a receipt may greet "Dana").
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers

REMOVED = "[removed]"
"""What stands where a customer's name or contact was."""

LOYALTY_REMOVED = "removed"
"""A forgotten sale's loyalty member id (the sale's schema needs one where a loyalty block stays)."""

_CUSTOMER_FIELDS = ("name", "email", "phone", "loyalty_id")
"""The fields of a sale's `customer` block that name or reach the person (app.domain.sale.CustomerInfo)."""

_SHORTEST_NAME_WORD = 2


def phone_forms(value: str, region: str = "US") -> set[str]:
    """The ways a phone number may be written: E.164, international, national, bare digits (with and without
    the country code), and the string as given."""
    forms = {value.strip()}
    digits = "".join(c for c in value if c.isdigit())
    if digits:
        forms.add(digits)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return {f for f in forms if f}
    for fmt in (
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.RFC3966,
    ):
        forms.add(phonenumbers.format_number(number, fmt))
    national = str(number.national_number)
    forms.add(national)
    forms.add(f"{number.country_code}{national}")
    if len(national) == 10:  # the North American plan's usual spellings
        forms.update(
            {f"{national[:3]}-{national[3:6]}-{national[6:]}", f"{national[:3]}.{national[3:6]}.{national[6:]}"}
        )
        forms.add(f"{national[:3]} {national[3:6]} {national[6:]}")
    return {f for f in forms if len(f) >= 4}


@dataclass(frozen=True, slots=True)
class Needles:
    """What to look for in text, compiled once for all of one customer's records."""

    pattern: re.Pattern[str] | None

    @classmethod
    def of(
        cls, *, names: Iterable[str | None] = (), emails: Iterable[str | None] = (), phones: Iterable[str | None] = ()
    ) -> Needles:
        """Needles for these names, email addresses, phone numbers and loyalty ids (pass them as `names`)."""
        plain: set[str] = set()
        words: set[str] = set()
        for name in names:
            if name and name.strip():
                plain.add(name.strip())
                words.update(w for w in re.split(r"\W+", name) if len(w) >= _SHORTEST_NAME_WORD)
        for email in emails:
            if email and email.strip():
                plain.add(email.strip())
        for phone in phones:
            if phone and phone.strip():
                plain.update(phone_forms(phone))
        alternatives: list[str] = []
        for text in sorted(plain | {html.escape(p) for p in plain}, key=len, reverse=True):
            alternatives.append(re.escape(text))
        for word in sorted(words | {html.escape(w) for w in words}, key=len, reverse=True):
            alternatives.append(rf"(?<!\w){re.escape(word)}(?!\w)")
        if not alternatives:
            return cls(None)
        return cls(re.compile("|".join(alternatives), re.IGNORECASE))

    def scrub(self, text: str) -> str:
        """`text` with every needle replaced by `REMOVED`."""
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(REMOVED, text)

    def scrub_optional(self, text: str | None) -> str | None:
        return None if text is None else self.scrub(text)

    def found_in(self, text: str | None) -> bool:
        return bool(text) and self.pattern is not None and self.pattern.search(text or "") is not None


def scrub_json(text: str, needles: Needles) -> str:
    """A JSON document with every string value (and key) scrubbed; text that is not JSON is scrubbed as text."""
    try:
        data = json.loads(text)
    except ValueError:
        return needles.scrub(text)
    scrubbed = _scrub_value(data, needles)
    if scrubbed == data:  # nothing of theirs: the text stays as it was written
        return text
    return json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False)


def _scrub_value(value: Any, needles: Needles) -> Any:
    if isinstance(value, str):
        return needles.scrub(value)
    if isinstance(value, list):
        return [_scrub_value(v, needles) for v in value]
    if isinstance(value, dict):
        return {needles.scrub(str(k)): _scrub_value(v, needles) for k, v in value.items()}
    return value


def sale_customer(payload: str) -> dict[str, str]:
    """The name, email, phone and loyalty ids a stored sale's JSON names (empty fields left out)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    customer = data.get("customer") if isinstance(data, dict) else None
    if isinstance(customer, dict):
        for key in _CUSTOMER_FIELDS:
            if isinstance(customer.get(key), str) and customer[key]:
                found[key] = customer[key]
    loyalty = data.get("loyalty") if isinstance(data, dict) else None
    if isinstance(loyalty, dict) and isinstance(loyalty.get("member_id"), str):
        found["member_id"] = loyalty["member_id"]
    return found


def scrub_sale(payload: str, needles: Needles) -> str:
    """A sale's JSON without the person: the customer block's name, email, phone and loyalty id emptied, the
    loyalty member id replaced, and any other string naming them scrubbed. Money, lines and tenders stay."""
    try:
        data = json.loads(payload)
    except ValueError:
        return needles.scrub(payload)
    if not isinstance(data, dict):
        return payload
    customer = data.get("customer")
    if isinstance(customer, dict):
        for key in _CUSTOMER_FIELDS:
            customer.pop(key, None)  # stored sales leave empty fields out (app.storage.sales.canonical_json)
    loyalty = data.get("loyalty")
    if isinstance(loyalty, dict) and "member_id" in loyalty:
        loyalty["member_id"] = LOYALTY_REMOVED
    return json.dumps(_scrub_value(data, needles), separators=(",", ":"), ensure_ascii=False)
