"""Managers' PINs and their lockout: slow hashes, the rules a PIN and a name follow, growing lock times.

A PIN is never kept: only `scrypt` over it with a random salt, the cost parameters written into the
stored text (`scrypt$n=16384,r=8,p=1$<salt>$<key>`), so they can be raised later and old hashes still
check. Checking compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime

from app.domain.errors import ValidationFailed

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
"""The cost of a new hash: 16 MiB of memory and some tens of milliseconds per check."""
SALT_BYTES, KEY_BYTES = 16, 32
PIN_DIGITS = (4, 12)
NAME_LENGTH = 40
LEGACY_NAME = "manager"
"""The manager the old single keyring PIN becomes."""

_NAME = re.compile(r"^\w[\w .'\-]*$")
_RESERVED = frozenset({"cli", "dispatcher", "kiosk", "kiosk-cashier", "kiosk-manager", "kiosk-setup", "tracking"})


@dataclass(frozen=True, slots=True)
class Manager:
    """A person who may unlock the manager screens (never their PIN or its hash)."""

    name: str
    created_at: datetime
    removed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Lockout:
    """Wrong PINs in a row against one subject, and until when it is locked (None: not locked)."""

    subject: str
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After `max_tries` wrong PINs in a row, locked for `first_s`; each further lockout doubles, up to `max_s`."""

    max_tries: int = 5
    first_s: float = 60.0
    max_s: float = 24 * 3600.0

    def lock_seconds(self, failures: int) -> float | None:
        """How long `failures` wrong PINs in a row lock for, or None when they do not lock (yet)."""
        if failures <= 0 or failures % self.max_tries:
            return None
        doublings = min(failures // self.max_tries - 1, 40)
        return float(min(self.first_s * 2**doublings, self.max_s))

    def tries_left(self, failures: int) -> int:
        """Wrong PINs still allowed before the next lockout."""
        return self.max_tries - failures % self.max_tries


def lockout_subject(name: str) -> str:
    """The lockout row of the manager called `name` (any name typed, known or not)."""
    return f"manager:{name[:100]}"


def hash_pin(pin: str, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None) -> str:
    """The stored form of `pin`: scheme, parameters, salt and key (slow: run it off the event loop)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = _scrypt(pin, salt, n, r, p)
    return f"{SCHEME}$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the one `stored` was made from (slow, constant-time comparison)."""
    parsed = _parse(stored)
    if parsed is None:
        _scrypt(pin, bytes(SALT_BYTES), N, R, P)  # as long as a real check
        return False
    n, r, p, salt, key = parsed
    return hmac.compare_digest(_scrypt(pin, salt, n, r, p, len(key)), key)


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with weaker parameters than a new hash would be."""
    parsed = _parse(stored)
    return parsed is None or (parsed[0], parsed[1], parsed[2]) < (N, R, P)


def check_pin(pin: str) -> str:
    """`pin` when it is 4 to 12 digits and not one of the easiest to guess; else `ValidationFailed` in one sentence."""
    low, high = PIN_DIGITS
    if not pin.isascii() or not pin.isdigit() or not low <= len(pin) <= high:
        raise ValidationFailed(f"A manager PIN is {low} to {high} digits.", field="pin")
    if weak_pin(pin):
        raise ValidationFailed("That PIN is too easy to guess (like 0000 or 1234); choose another.", field="pin")
    return pin


def weak_pin(pin: str) -> bool:
    """One digit repeated (0000), a run up or down (1234, 9876), or two digits taking turns (1212)."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps <= {0, 1, 9}:
        return True
    return len(pin) % 2 == 0 and pin == pin[:2] * (len(pin) // 2)


def check_name(name: str) -> str:
    """The name, trimmed, when it can name a manager; else `ValidationFailed` in one sentence."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the manager a name.", field="name")
    if len(name) > NAME_LENGTH:
        raise ValidationFailed(f"A manager's name is at most {NAME_LENGTH} characters.", field="name")
    if not _NAME.match(name):
        raise ValidationFailed(
            "A manager's name holds letters, digits, spaces, dots, hyphens and apostrophes only.", field="name"
        )
    if name.casefold() in _RESERVED:
        raise ValidationFailed(
            f"{name!r} is a name ReceiptDesk uses itself in the audit log; choose another.", field="name"
        )
    return name


def describe_wait(seconds: float) -> str:
    """`45 seconds`, `2 minutes`, `3 hours`, `2 days`: rounded up, so the wait is never longer than said."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        count, unit = whole, "second"
    elif whole < 2 * 3600:
        count, unit = math.ceil(whole / 60), "minute"
    elif whole < 2 * 86400:
        count, unit = math.ceil(whole / 3600), "hour"
    else:
        count, unit = math.ceil(whole / 86400), "day"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 1024 * 1024, dklen=length)


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, params, salt, key = stored.split("$")
        values = dict(part.split("=", 1) for part in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        if scheme != SCHEME or n < 2 or n & (n - 1) or not 0 < r * p < 2**30:
            return None
        return n, r, p, base64.b64decode(salt, validate=True), base64.b64decode(key, validate=True)
    except (ValueError, KeyError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


UNKNOWN_HASH = f"{SCHEME}$n={N},r={R},p={P}${_b64(bytes(SALT_BYTES))}${_b64(bytes(KEY_BYTES))}"
"""Checked against for a name that is no manager, so an unknown name costs the same time as a known one."""
