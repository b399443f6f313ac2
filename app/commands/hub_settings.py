"""`hub settings set STORE_ID FILE.toml` and `hub settings show STORE_ID`: a store's settings managed on the hub
(branding, routing, retention), straight in the hub's database (docs/hub.md, "Store settings from the hub")."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands.common import os_actor, with_database
from app.domain.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime
    from app.storage.hub_settings import Stale, StoreSettingsVersion


def hub_settings(args: argparse.Namespace) -> int:
    if args.settings_action == "set":
        return _set(args.store_id, Path(args.file), args)
    return _show(args.store_id, args)


def _set(store_id: str, file: Path, args: argparse.Namespace) -> int:
    from app.config.hub_settings import check_sections
    from app.domain.clock import utcnow
    from app.storage import hub_settings

    sections = check_sections(_read(file))
    actor = os_actor()

    async def body(r: DatabaseRuntime) -> StoreSettingsVersion | Stale:
        now = utcnow()
        return await r.db.write(lambda s: hub_settings.put(s, store_id, sections, replaces=None, by=actor, now=now))

    result = with_database(args, body)
    assert isinstance(result, hub_settings.StoreSettingsVersion)  # no version named: never stale
    print(
        f"Settings of {store_id} are now version {result.version} ({', '.join(sections)}); "
        "its lanes take them at their next pull."
    )
    return 0


def _show(store_id: str, args: argparse.Namespace) -> int:
    from app.config.settings_writer import dumps_toml
    from app.storage import hub_settings

    async def body(r: DatabaseRuntime) -> StoreSettingsVersion | None:
        return await r.db.read(lambda s: hub_settings.current(s, store_id))

    found = with_database(args, body)
    if found is None:
        raise NotFound(
            f"The hub manages no settings for store {store_id}: set them with `receiptdesk hub settings set`."
        )
    print(
        f"Settings of {store_id}: version {found.version}, "
        f"changed {found.updated_at.astimezone():%Y-%m-%d %H:%M %Z} by {found.updated_by}."
    )
    print(dumps_toml(found.settings), end="")
    return 0


def _read(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationFailed(
            f"The file {file} does not exist: give a TOML file with [store], [routing] or [retention]."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"{file} is not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise ValidationFailed(f"{file} is not UTF-8 text: save it as UTF-8.") from None
