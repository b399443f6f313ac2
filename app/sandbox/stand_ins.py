"""The sandbox's provider stand-ins, found by looking at the package rather than by a list.

A stand-in is a module of `app.sandbox` that declares, at module level:

- `PROVIDER_ID`: the provider it stands in for, one module per provider;
- `routes(store, faults, *, callbacks)`: its Starlette routes, recording into `store`, failing as
  `faults` says and, when the provider calls back, calling back through `callbacks` (an empty list
  when another stand-in's endpoint answers for it, as Twilio's Messages endpoint does for WhatsApp);
- `account(sandbox_url, store_name)`: the `SandboxAccount` that points the provider's adapter at a
  sandbox served on `sandbox_url`.

The sandbox app's routes, the demo's accounts and the provider names a fault may be scoped to all
come from `stand_ins()`: a provider's stand-in is added by adding its module and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from app import sandbox

if TYPE_CHECKING:
    from starlette.routing import Route

    from app.sandbox.callbacks import CallbackSender
    from app.sandbox.faults import Faults
    from app.sandbox.store import MessageStore

MACHINERY = frozenset(
    {
        "accounts",
        "app",
        "callbacks",
        "credentials",
        "faults",
        "fire",
        "memory_keyring",
        "oauth_tokens",
        "outcomes",
        "pos",
        "pos_load",
        "server",
        "stand_ins",
        "store",
    }
)
"""The sandbox's own modules, which stand in for no provider: not imported to look (the server and
the app load the web server, which the kiosk demo's first window does without)."""

NO_RATE_LIMIT: Mapping[str, Any] = {"rate_per_sec": 0}
"""The demo sends to the sandbox as fast as it answers (`rate_per_sec` overrides the capabilities)."""


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    """The settings and secrets that open one provider's stand-in; they open nothing else."""

    settings: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)


def api_account(sandbox_url: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> SandboxAccount:
    """An account whose API base URL is the sandbox's, with the given settings and secrets."""
    return SandboxAccount({"base_url": sandbox_url, **NO_RATE_LIMIT, **settings}, dict(secrets))


class StandIn(Protocol):
    """What a stand-in module declares (see the module docstring)."""

    PROVIDER_ID: str

    def routes(
        self, store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None
    ) -> list[Route]: ...

    def account(self, sandbox_url: str, store_name: str) -> SandboxAccount: ...


@cache
def stand_ins() -> Mapping[str, StandIn]:
    """Every stand-in module of the sandbox, by the provider it stands in for, in module name order.

    Each module of the package is imported and kept when it names a `PROVIDER_ID`; subpackages (the
    commerce platforms) and the sandbox's `MACHINERY` are not providers and are skipped. A module that
    names a provider without declaring `routes` and `account`, or two modules for one provider, fail
    loudly.
    """
    found: dict[str, StandIn] = {}
    modules: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(sandbox.__path__), key=lambda m: m.name):
        if info.ispkg or info.name in MACHINERY:
            continue
        module = importlib.import_module(f"{sandbox.__name__}.{info.name}")
        provider_id = getattr(module, "PROVIDER_ID", None)
        if not isinstance(provider_id, str):
            continue
        missing = [name for name in ("routes", "account") if not callable(getattr(module, name, None))]
        if missing:
            raise RuntimeError(f"sandbox stand-in {module.__name__} declares no {' or '.join(missing)}")
        if provider_id in found:
            raise RuntimeError(
                f"two sandbox stand-ins for {provider_id!r}: {modules[provider_id]} and {module.__name__}"
            )
        found[provider_id] = cast(StandIn, module)
        modules[provider_id] = module.__name__
    return found


def provider_ids() -> frozenset[str]:
    """The providers the sandbox stands in for."""
    return frozenset(stand_ins())
