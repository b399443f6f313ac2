"""What every catch-up poller is: list a platform's paid orders since a time, as trigger events.

Webhooks are missed while a store is offline; a poller asks the platform's list API for what changed
since a time and maps each paid order exactly as its webhook would be mapped (the trigger's own
`sale_payload` + `parse_sale`), so checkout's dedupe makes a second sighting harmless. A poller may
also find order updates (a refund or a cancellation whose webhook was missed), deduped by their
change like a webhook's. A poller never touches the database: the catch-up service keeps the progress.

`Poller` owns building from the declared fields, or saying which are missing; a platform module
keeps its class data, its constructor and `poll`. The registry finds every subclass in
`app/triggers/catchup/`, so nothing else lists a polled platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

import httpx

from app.domain.errors import ConfigurationError, TransientProviderError, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.plugins import SecretField, SettingField
from app.triggers.base import declared

MAX_PAGES = 200
"""A poll stops after this many pages (a runaway cursor must not loop forever)."""
MAPPING_ONLY = "catch-up-mapping-only"
"""The signing secret of the trigger a poller maps with: it uses the trigger's mapping, never its `verify`."""


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll found: the paid orders (and any order updates) as events, plus counts for the record."""

    events: tuple[PlatformEvent, ...]
    listed: int  # orders (events) the platform listed in the window
    skipped: int  # listed but not paid/completed, or not mappable to a sale
    pages: int
    cursor: str | None  # how far the poll got (latest update time or event id), for the record


@dataclass(slots=True)
class Tally:
    """What a poll found so far, page by page."""

    events: list[PlatformEvent] = field(default_factory=list)
    listed: int = 0
    skipped: int = 0
    pages: int = 0

    def page(self, items: Iterable[Any], to_event: Callable[[Any], TriggerEvent | None]) -> None:
        """Count one page; keep the items `to_event` maps to a sale, skip the rest."""
        self.pages += 1
        for item in items:
            self.listed += 1
            event = to_event(item)
            if event is None:
                self.skipped += 1
            else:
                self.events.append(event)

    def page_of_many(self, items: Iterable[Any], to_events: Callable[[Any], list[PlatformEvent]]) -> None:
        """Count one page whose items may each tell several things (a sale, then its refunds)."""
        self.pages += 1
        for item in items:
            self.listed += 1
            events = to_events(item)
            if not events:
                self.skipped += 1
            self.events.extend(events)

    def result(self, cursor: str | None) -> PollResult:
        return PollResult(tuple(self.events), self.listed, self.skipped, self.pages, cursor)


def latest_stamp(items: Iterable[Any], key: str, latest: str | None) -> str | None:
    """The newest ISO time under `key` among `items` and `latest` (ISO strings in UTC sort as times)."""
    for item in items:
        stamp = item.get(key) if isinstance(item, dict) else None
        if isinstance(stamp, str) and (latest is None or stamp > latest):
            latest = stamp
    return latest


class Poller(ABC):
    """The base of `app/triggers/catchup/<platform>.py`'s `<Platform>Poller`: class data, `create`, `poll`.

    The fields are read from the same `[platforms.<platform>]` section and secrets as the trigger's.
    """

    platform: ClassVar[str]
    secret_fields: ClassVar[tuple[SecretField, ...]] = ()
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()

    @classmethod
    def create(
        cls,
        http: httpx.AsyncClient,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str | None],
        *,
        store_id: str,
    ) -> Self | str:
        """The poller, or why the platform is not polled (a field it needs is not set)."""
        values = declared(secrets, cls.secret_fields) | declared(settings, cls.setting_fields)
        if not cls.configured(values):
            return f"not configured (needs {cls.needs()})"
        return cls.build(http, values, store_id=store_id)

    @classmethod
    def configured(cls, values: Mapping[str, str]) -> bool:
        """Whether `values` (the declared fields that are set) are enough to poll: every required one."""
        fields: tuple[SecretField | SettingField, ...] = (*cls.secret_fields, *cls.setting_fields)
        return all(f.name in values for f in fields if f.required)

    @classmethod
    def needs(cls) -> str:
        """What polling needs, as a person would set it up."""
        secrets = [f"the {f.name} secret" for f in cls.secret_fields if f.required]
        settings = [f"a {f.name} setting" for f in cls.setting_fields if f.required]
        return " and ".join(secrets + settings)

    @classmethod
    @abstractmethod
    def build(cls, http: httpx.AsyncClient, values: Mapping[str, str], *, store_id: str) -> Self:
        """The poller from the declared fields that are set (`configured` said they are enough)."""

    @abstractmethod
    async def poll(self, since: datetime, *, now: datetime) -> PollResult:
        """Paid orders updated since `since` (inclusive).

        Raises `TransientProviderError` (network, 429, 5xx), `ConfigurationError` (credentials refused)
        or `ValidationFailed` (an answer that is not the platform's list shape).
        """


async def request_json(
    client: httpx.AsyncClient, method: str, url: str, *, platform: str, **kwargs: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    """One list request with the platform's errors translated; the answer must be a JSON object."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise TransientProviderError(f"{platform} could not be reached: the request did not go through.") from exc
    status = response.status_code
    if status in (401, 403):
        raise ConfigurationError(f"{platform} refused the API credentials ({status})")
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        raise TransientProviderError(
            f"{platform} answered {status}",
            status_code=status,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    try:
        data = response.json()
    except ValueError:
        data = None
    if status != 200 or not isinstance(data, dict):
        raise ValidationFailed(f"{platform} answered the list request with {status}: {response.text[:200]}")
    return response, data
