"""Every provider's status callbacks ReceiptDesk ships, by `provider_id`, found in `app.providers`.

Adding a provider's callbacks is adding its module with one `StatusCallbacks` subclass; the wiring,
the routes and the tracking service read this registry and list no provider by name.
"""

from __future__ import annotations

import app.providers
from app.providers.callbacks import StatusCallbacks
from app.support.plugins import discover

# mypy refuses an abstract class as `type[T]`; discover keeps only its concrete subclasses
CALLBACKS: dict[str, type[StatusCallbacks]] = discover(
    app.providers,
    StatusCallbacks,  # type: ignore[type-abstract]
    key="provider_id",
)
