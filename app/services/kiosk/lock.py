"""The manager PIN: checked in constant time, locked for a while after too many wrong tries."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from app.domain.errors import ReceiptDeskError
from app.domain.plugins import SecretField

PIN_OWNER = "kiosk"
PIN_SECRET = SecretField("manager_pin", "Manager PIN")
"""The manager PIN is kept in the keyring as `kiosk manager_pin`."""


class AccessDenied(ReceiptDeskError):
    """A wrong manager PIN, or too many of them."""


class ManagerLock:
    """Checks the manager PIN; after `max_tries` wrong PINs in a row every PIN is refused for `lockout_s`."""

    def __init__(
        self,
        pin: str | None,
        *,
        max_tries: int = 5,
        lockout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pin = pin
        self._max_tries = max_tries
        self._lockout_s = lockout_s
        self._clock = clock
        self._wrong = 0
        self._locked_until = 0.0

    @property
    def configured(self) -> bool:
        """Whether a PIN is set up at all."""
        return bool(self._pin)

    def locked_for(self) -> float:
        """Seconds until PINs are accepted again (0 when not locked)."""
        return max(0.0, self._locked_until - self._clock())

    def check(self, pin: str) -> None:
        """Return when `pin` is right; else raise `AccessDenied` saying what is left."""
        if not self._pin:
            command = f"receiptdesk secrets set {PIN_OWNER} {PIN_SECRET.name}"
            raise AccessDenied(f"No manager PIN is set up. Store one with `{command}`.")
        wait = self.locked_for()
        if wait > 0:
            raise AccessDenied(f"Too many wrong PINs. Try again in {int(wait + 0.999)} seconds.")
        if hmac.compare_digest(pin.encode(), self._pin.encode()):
            self._wrong = 0
            return
        self._wrong += 1
        if self._wrong >= self._max_tries:
            self._wrong = 0
            self._locked_until = self._clock() + self._lockout_s
            raise AccessDenied(f"Too many wrong PINs. Try again in {int(self._lockout_s)} seconds.")
        left = self._max_tries - self._wrong
        raise AccessDenied(f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left.")
