"""The folders, settings files, tokens and environments of the lanes demo's hub and lanes.

Each lane is a `receiptdesk serve` with a data folder of its own (its SQLite database), its settings file
pointing every provider at the sandbox and `[hub] url` at the hub (or at the relay the demo can cut), and
its hub token in `RECEIPTDESK_HUB_TOKEN`, as a headless lane is set up. The hub is `receiptdesk serve
--hub` on SQLite in its own folder. Tokens are made in each database before its process starts.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from app.config.paths import database_url
from app.config.secrets import env_name
from app.config.settings import Settings
from app.config.settings_writer import dumps_toml, write_settings
from app.demo.headless import DEMO_ROUTING, demo_api
from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN
from app.services.tokens import TokenService
from app.storage import schema
from app.storage.database import Database

SYNC_EVERY = 0.5
"""The demo lanes' `[hub] push_every_seconds` and `pull_every_seconds`: short, so a run takes seconds."""

_NOT_PASSED = ("RECEIPTDESK_DB_URL", "RECEIPTDESK_DATA_DIR", "RECEIPTDESK_LOG_DIR")
"""The caller's database, data folder and log folder: the demo's processes use their own."""


@dataclass(frozen=True, slots=True)
class LanePlan:
    """One lane of the demo: its number, folder, settings file and the tokens it is given."""

    number: int
    folder: Path
    lane_id: str
    pos_token: str  # the simulated POS's token on the lane (sales:write, receipts:read)
    hub_token: str  # the lane's token at the hub (hub:sync)

    @property
    def config(self) -> Path:
        return self.folder / "lane.toml"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def args(self) -> list[str]:
        return ["--config", str(self.config), "--data-dir", str(self.data), "serve"]


@dataclass(frozen=True, slots=True)
class HubPlan:
    folder: Path
    reader_token: str  # the demo's token at the hub (receipts:read): the store's receipts and the lanes

    @property
    def config(self) -> Path:
        return self.folder / "hub.toml"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def args(self) -> list[str]:
        return ["--config", str(self.config), "--data-dir", str(self.data), "serve", "--hub"]


def sqlite_url(data: Path) -> str:
    """The SQLite database of the data folder `data`, as a process given that folder opens it."""
    own = f"sqlite:///{data / 'receiptdesk.db'}"
    return database_url(data, None) if "RECEIPTDESK_DB_URL" not in os.environ else own


async def issue(data: Path, name: str, scopes: list[str], *, url: str | None = None) -> str:
    """A token named `name` in the database at `url` (default: the SQLite database of the data folder
    `data`), its schema brought up first."""
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    db = Database(url or sqlite_url(data))
    try:
        schema.upgrade(db.write_engine)
        return (await TokenService(db).create(name, scopes, actor="demo")).token
    finally:
        db.close()


async def plan_hub(folder: Path, lanes: int, *, database: str | None = None) -> tuple[HubPlan, list[str]]:
    """The hub's folder and settings (its database at `database`, else SQLite in its folder), its reading
    token, and one hub:sync token per lane."""
    plan = HubPlan(folder, "")
    settings: dict[str, object] = {"api": {"port": 0, "requests_per_minute": 100_000}}
    if database is not None:
        settings["database"] = {"url": database}
    await asyncio.to_thread(_write, plan.config, dumps_toml(settings))
    reader = await issue(plan.data, "demo-reader", ["receipts:read"], url=database)
    lane_tokens = [await issue(plan.data, f"demo-lane-{n}", ["hub:sync"], url=database) for n in range(1, lanes + 1)]
    return HubPlan(folder, reader), lane_tokens


async def plan_lane(folder: Path, number: int, hub_token: str) -> LanePlan:
    pos = await issue(folder / "data", f"demo-pos-{number}", ["sales:write", "receipts:read"])
    store_id = Settings().store.id
    return LanePlan(number, folder, f"{store_id}/{number}", pos, hub_token)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def lane_settings(sandbox_url: str, hub_url: str, number: int) -> Settings:
    """A demo lane's settings: the sandbox's providers, the demo's store, this lane's hub link."""
    routing: dict[Channel, str | list[str]] = {c: p for c, p in DEMO_ROUTING.items() if c is not Channel.PUSH}
    settings = demo_texts(demo_api(sandbox_settings(Settings(), sandbox_url, routing=routing)))
    hub = settings.hub.model_copy(
        update={
            "url": hub_url,
            "lane": str(number),
            "push_every_seconds": SYNC_EVERY,
            "pull_every_seconds": SYNC_EVERY,
        }
    )
    api = settings.api.model_copy(update={"port": 0})
    return settings.model_copy(update={"hub": hub, "api": api, "platforms": {}})  # no platform polls


def write_lane_settings(plan: LanePlan, sandbox_url: str, hub_url: str) -> None:
    write_settings(plan.config, lane_settings(sandbox_url, hub_url, plan.number))


def child_env(sandbox_url: str | None = None, hub_token: str | None = None) -> dict[str, str]:
    """The environment of a demo process; a lane's holds the sandbox's secrets and its hub token as variables."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_PASSED}
    if sandbox_url is not None:
        for provider, fields in sandbox_secrets(sandbox_url).items():
            for field, value in fields.items():
                env[env_name(provider, field)] = value
    if hub_token is not None:
        env[env_name(HUB_OWNER, HUB_TOKEN.name)] = hub_token
    return env
