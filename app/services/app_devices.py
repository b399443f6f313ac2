"""App devices: the store's app registers a customer's install for push receipts, and unregisters it.

A device belongs to the customer of a loyalty id (a customer ReceiptDesk has not seen yet is made,
as a sale naming that loyalty id would). Registering is idempotent on the token: the same token
again refreshes its row (and moves it to the customer named, as when another member signs in on a
shared tablet) instead of adding a second. Every registration, removal and device the push
service reports gone (`forget_unregistered`, FCM's UNREGISTERED) is audited, the token masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.app_devices import AppDevice, check_app, check_platform, check_token, mask_device_token
from app.domain.cards import contains_card_number
from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound, ValidationFailed
from app.storage import app_devices, audit, customers
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

_LOYALTY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/#-")
"""A loyalty id is spelled as the sale contract spells it (`Identifier` in `app.domain.sale`)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration did: the device as stored, and whether it is new (else the token was known)."""

    device: AppDevice
    created: bool


def check_loyalty_id(raw: object) -> str:
    """The loyalty id, or `ValidationFailed` saying what one looks like."""
    if (
        not isinstance(raw, str)
        or not 1 <= len(raw) <= 64
        or not raw[0].isalnum()
        or not set(raw) <= _LOYALTY_CHARS
        or contains_card_number(raw)
    ):
        raise ValidationFailed(
            "loyalty_id must be the customer's loyalty id: 1 to 64 letters, digits or '._:/#-'.", field="loyalty_id"
        )
    return raw


class AppDeviceService:
    """Registers and forgets the app installs push receipts go to."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def register(self, payload: Any, *, client: str) -> Registration:
        """Register `{"loyalty_id", "token", "platform", "app"?}` for `client`; raises `ValidationFailed`."""
        if not isinstance(payload, dict):
            raise ValidationFailed("Send a JSON object with loyalty_id, token and platform.")
        unknown = sorted(set(payload) - {"loyalty_id", "token", "platform", "app"})
        if unknown:
            raise ValidationFailed(f"Unknown field {unknown[0]!r}: send loyalty_id, token, platform and app.")
        loyalty_id = check_loyalty_id(payload.get("loyalty_id"))
        token = check_token(payload.get("token"))
        platform = check_platform(payload.get("platform"))
        app = check_app(payload.get("app"))
        now = self._clock()

        def job(session: UnitOfWork) -> Registration:
            customer_id = customers.find(session, loyalty_id=loyalty_id, email=None, phone=None)
            if customer_id is None:
                customer_id = customers.upsert(
                    session, now=now, name=None, loyalty_id=loyalty_id, language=None, email=None, phone=None
                )
            known = app_devices.by_token(session, token)
            if known is not None:
                app_devices.refresh(session, known.id, customer_id=customer_id, platform=platform, app=app, now=now)
                device = app_devices.by_id(session, known.id)
                assert device is not None
                if known.customer_id == customer_id:
                    return Registration(device, created=False)
            else:
                device = app_devices.add(
                    session,
                    customer_id=customer_id,
                    platform=platform,
                    app=app,
                    token=token,
                    registered_by=client,
                    now=now,
                )
            _audit(session, now, client, "app_device.registered", device)
            return Registration(device, created=known is None)

        registration = await self._db.write(job)
        log.info(
            "app device %s %s: %s for customer %s by %s",
            registration.device.id,
            "registered" if registration.created else "registered again",
            mask_device_token(token),
            registration.device.customer_id,
            client,
        )
        return registration

    async def unregister(self, device_id: int, *, client: str) -> AppDevice:
        """Forget the device (the app was signed out or uninstalled); raises `NotFound`."""
        now = self._clock()

        def job(session: UnitOfWork) -> AppDevice:
            device = app_devices.by_id(session, device_id)
            if device is None:
                raise NotFound(f"There is no app device {device_id}: it was never registered or is already removed.")
            app_devices.remove(session, [device.id])
            _audit(session, now, client, "app_device.removed", device)
            return device

        device = await self._db.write(job)
        log.info("app device %s removed by %s", device.id, client)
        return device


def forget_unregistered(session: UnitOfWork, tokens: Iterable[str], *, now: datetime) -> list[AppDevice]:
    """Remove the devices the push service says are gone (the app uninstalled), each audited.

    Runs inside the caller's unit of work (the dispatcher's, with the failed delivery it settles).
    A token no longer registered is passed over.
    """
    gone: list[AppDevice] = []
    for token in dict.fromkeys(tokens):
        device = app_devices.by_token(session, token)
        if device is None:
            continue
        app_devices.remove(session, [device.id])
        _audit(session, now, "dispatcher", "app_device.unregistered", device)
        gone.append(device)
    return gone


def _audit(session: UnitOfWork, now: datetime, actor: str, action: str, device: AppDevice) -> None:
    detail = {
        "customer_id": device.customer_id,
        "platform": device.platform.value,
        "app": device.app,
        "token": mask_device_token(device.token),
    }
    audit.append(session, at=now, actor=actor, action=action, subject=f"app_device:{device.id}", detail=detail)
