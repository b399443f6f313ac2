"""Customers' app devices (`app_devices`): registered, listed for a push receipt, and forgotten."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.domain.app_devices import AppDevice, Platform
from app.storage.models import AppDeviceRow


def _device(row: AppDeviceRow) -> AppDevice:
    return AppDevice(
        row.id,
        row.customer_id,
        Platform(row.platform),
        row.app,
        row.token,
        row.registered_by,
        row.created_at,
        row.last_seen_at,
    )


def by_token(session: Session, token: str) -> AppDevice | None:
    row = session.execute(select(AppDeviceRow).where(AppDeviceRow.token == token)).scalar_one_or_none()
    return _device(row) if row is not None else None


def by_id(session: Session, device_id: int) -> AppDevice | None:
    row = session.get(AppDeviceRow, device_id)
    return _device(row) if row is not None else None


def add(
    session: Session,
    *,
    customer_id: int,
    platform: Platform,
    app: str | None,
    token: str,
    registered_by: str,
    now: datetime,
) -> AppDevice:
    row = AppDeviceRow(
        customer_id=customer_id,
        platform=platform.value,
        app=app,
        token=token,
        registered_by=registered_by[:64],
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return _device(row)


def refresh(
    session: Session, device_id: int, *, customer_id: int, platform: Platform, app: str | None, now: datetime
) -> None:
    """The same token registered again: it may have moved to another customer (a shared tablet signed in anew)."""
    session.execute(
        update(AppDeviceRow)
        .where(AppDeviceRow.id == device_id)
        .values(customer_id=customer_id, platform=platform.value, app=app, last_seen_at=now)
    )


def of_customer(session: Session, customer_id: int) -> list[AppDevice]:
    """The customer's devices, oldest first."""
    rows = session.execute(
        select(AppDeviceRow).where(AppDeviceRow.customer_id == customer_id).order_by(AppDeviceRow.id)
    ).scalars()
    return [_device(row) for row in rows]


def remove(session: Session, device_ids: Sequence[int]) -> None:
    if device_ids:
        session.execute(delete(AppDeviceRow).where(AppDeviceRow.id.in_(list(device_ids))))
