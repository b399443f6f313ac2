"""App devices at the service: one row per token, moved with the customer, forgotten when gone; the scope."""

from __future__ import annotations

from sqlalchemy import select

from app.cli import _parser
from app.domain.tokens import ApiClient, Scope
from app.services.app_devices import AppDeviceService, forget_unregistered
from app.services.tokens import TokenService
from app.storage import customers
from app.storage.database import Database
from app.storage.models import AuditRow

TOKEN = "fcm-token-cccccccccccccccccccccc-9"


def device(loyalty_id: str, token: str = TOKEN, platform: str = "web") -> dict[str, str]:
    return {"loyalty_id": loyalty_id, "token": token, "platform": platform}


async def test_a_token_registered_for_another_member_moves_to_them(db: Database) -> None:
    service = AppDeviceService(db)
    first = await service.register(device("L-1"), client="store-app")
    moved = await service.register(device("L-2", platform="android"), client="store-app")
    assert not moved.created and moved.device.id == first.device.id
    owner = await db.read(lambda s: customers.find(s, loyalty_id="L-2", email=None, phone=None))
    assert moved.device.customer_id == owner and moved.device.platform.value == "android"
    actions = await db.read(lambda s: s.scalars(select(AuditRow.action)).all())
    assert actions.count("app_device.registered") == 2  # the move is audited; a plain repeat is not
    await service.register(device("L-2", platform="android"), client="store-app")
    assert (await db.read(lambda s: s.scalars(select(AuditRow.action)).all())).count("app_device.registered") == 2


async def test_forgetting_a_gone_token_removes_it_once(db: Database) -> None:
    registered = (await AppDeviceService(db).register(device("L-3"), client="store-app")).device
    gone = await db.write(
        lambda s: forget_unregistered(s, [TOKEN, TOKEN, "never-registered-token-000"], now=registered.created_at)
    )
    assert [d.id for d in gone] == [registered.id]
    assert await db.write(lambda s: forget_unregistered(s, [TOKEN], now=registered.created_at)) == []


async def test_the_devices_scope_is_made_by_the_command_line_and_implied_by_admin(db: Database) -> None:
    args = _parser().parse_args(["tokens", "create", "store-app", "--scope", "devices:write"])
    issued = await TokenService(db).create(args.name, args.scopes, actor="tests")
    assert issued.client.scopes == (Scope.DEVICES_WRITE,)
    assert ApiClient("x", frozenset({Scope.ADMIN})).allows(Scope.DEVICES_WRITE)
    assert not ApiClient("x", frozenset({Scope.SALES_WRITE})).allows(Scope.DEVICES_WRITE)
