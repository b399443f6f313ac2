"""What every commerce platform stand-in is: the demo's set-up for it, its signed webhook, its API.

One module per platform, `app/sandbox/platforms/<platform>.py`, holds one `PlatformStandIn` subclass
next to the platform's signing, sample events and API routes; the registry finds it, so the
sandbox's inspection routes, `receiptdesk sandbox fire` and the demo's platform settings and secrets
list no platform by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.routing import Route

if TYPE_CHECKING:
    from app.sandbox.platforms.orders import PlatformStore

SettingValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Prepared:
    """One platform delivery: where and what to post, and what the platform's API keeps (if anything)."""

    url: str
    headers: dict[str, str]
    body: bytes
    stored: dict[str, Any] | None  # the order (for Stripe: the event) the sandbox platform records


class PlatformStandIn(ABC):
    """One commerce platform as the sandbox plays it, for the demo, `sandbox fire` and tests."""

    platform: ClassVar[str]
    """The platform's id, as its trigger's: `/webhooks/<platform>` on the app."""
    default_topic: ClassVar[str]
    """What `sandbox fire <platform>` sends without a topic: the platform's usual sale event."""
    update_topics: ClassVar[tuple[str, ...]] = ()
    """Order-update topics it can fire too (after the sale), for the command line's help."""
    secrets: ClassVar[Mapping[str, str]] = {}
    """The secrets the app needs to accept what the sandbox sends (and to call its API)."""
    keeps_orders: ClassVar[bool] = False
    """Whether its API answers from orders recorded in the `PlatformStore` (fetches, catch-up lists)."""
    stamps_updates: ClassVar[bool] = False
    """Whether a recorded order gets `updated_at` = now, as the platform's own list API sorts by it."""

    @classmethod
    def settings(cls, sandbox_url: str) -> dict[str, SettingValue]:
        """`[platforms.<platform>]` settings that point the app's calls to this platform at the sandbox."""
        return {}

    @classmethod
    @abstractmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        """The signed delivery of `topic` for the simulated order `seed`, to the app's `url`."""

    @classmethod
    def api_routes(cls, store: PlatformStore) -> list[Route]:
        """The platform API routes it plays, over the orders in `store`."""
        return []
