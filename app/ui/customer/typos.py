"""Typo help for email addresses: a small table of the domain slips customers make most."""

from __future__ import annotations

from typing import Final

DOMAIN_TYPOS: Final[dict[str, str]] = {
    "gmial.com": "gmail.com", "gmal.com": "gmail.com", "gmaill.com": "gmail.com", "gamil.com": "gmail.com",
    "gnail.com": "gmail.com", "gmail.co": "gmail.com", "gmail.cm": "gmail.com", "gmai.com": "gmail.com",
    "gmil.com": "gmail.com", "gmali.com": "gmail.com", "gmail.om": "gmail.com",
    "googlemail.co": "googlemail.com",
    "yaho.com": "yahoo.com", "yahooo.com": "yahoo.com", "yahoo.co": "yahoo.com", "yhoo.com": "yahoo.com",
    "yahho.com": "yahoo.com", "yahoo.cm": "yahoo.com",
    "hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmail.co": "hotmail.com",
    "hotmai.com": "hotmail.com",
    "hotmil.com": "hotmail.com", "homail.com": "hotmail.com",
    "outlok.com": "outlook.com", "outllook.com": "outlook.com", "outlook.co": "outlook.com",
    "outloo.com": "outlook.com",
    "iclod.com": "icloud.com", "icloud.co": "icloud.com", "icoud.com": "icloud.com", "iclould.com": "icloud.com",
    "aol.co": "aol.com", "aoll.com": "aol.com",
    "comcat.net": "comcast.net", "comcats.net": "comcast.net", "sbcgobal.net": "sbcglobal.net",
}  # fmt: skip
"""Misspelt domain -> the domain meant."""

TLD_TYPOS: Final[dict[str, str]] = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "vom": "com",
    "comm": "com",
    "xom": "com",
    "nte": "net",
    "ent": "net",
    "ogr": "org",
}
"""Misspelt ending -> the ending meant (any domain)."""


def suggest_email(address: str) -> str | None:
    """The address the customer probably meant (`ana@gmial.com` -> `ana@gmail.com`), or None."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    typed = domain.lower()
    fixed = DOMAIN_TYPOS.get(typed)
    if fixed is None:
        name, dot, tld = typed.rpartition(".")
        if dot and name and tld in TLD_TYPOS:
            fixed = DOMAIN_TYPOS.get(f"{name}.{TLD_TYPOS[tld]}", f"{name}.{TLD_TYPOS[tld]}")
    return f"{local}@{fixed}" if fixed and fixed != typed else None


def still_typing(address: str, suggestion: str) -> bool:
    """Whether `address` may be the start of `suggestion`'s domain being typed (`ana@gmail.co` on the
    way to `gmail.com`): then no hint yet, it would flash at someone typing correctly."""
    typed = address.strip().rpartition("@")[2].lower()
    meant = suggestion.rpartition("@")[2].lower()
    return meant.startswith(typed)
