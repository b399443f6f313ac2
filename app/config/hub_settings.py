"""A store's settings managed on its hub: which sections, how they are checked, and how a lane uses them.

The hub manages a store's branding (`[store]` but its `id` and `timezone`, which stay each lane's own),
`[routing]` and `[retention]` (docs/hub.md, "Store settings from the hub"). They are checked with the
same models as the lane's own file, so the hub refuses what a lane would refuse. A section the hub
manages replaces the lane's whole section; a section it leaves out keeps the lane's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.config.settings import RetentionSettings, Settings, StoreSettings, routing_of
from app.domain.errors import ConfigurationError, ValidationFailed

SECTIONS = ("store", "routing", "retention")
"""The sections a hub manages, in the order they are shown."""

LANE_OWN = ("id", "timezone")
"""The `[store]` keys each lane keeps for itself: the hub never sets them."""


def check_sections(data: object) -> dict[str, Any]:
    """The sections `data` holds, checked as a lane checks its settings file, as JSON-ready values.

    `ValidationFailed` names the first thing wrong in one sentence; nothing of `data` is kept then.
    """
    if not isinstance(data, Mapping) or not data:
        raise ValidationFailed(
            "The settings hold none of the sections the hub manages: give store, routing or retention."
        )
    for name in data:
        if name not in SECTIONS:
            raise ValidationFailed(
                f"[{name}] is not a section the hub manages: give only store, routing and retention.", str(name)
            )
        if not isinstance(data[name], Mapping):
            raise ValidationFailed(f"[{name}] is not a table of settings.", str(name))
    store = data.get("store")
    if store is not None:
        for key in LANE_OWN:
            if key in store:
                raise ValidationFailed(
                    f"store.{key} is each lane's own setting: leave it out of the hub's settings.", f"store.{key}"
                )
    try:
        checked = Settings.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"{where}: {first['msg']}.", where) from None
    except ConfigurationError as exc:  # a card number: named by its key, never by its value
        raise ValidationFailed(exc.message) from None
    if store is not None and checked.store.missing():
        missing = " and ".join(checked.store.missing())
        raise ValidationFailed(
            f"store: set {missing} too (the hub's [store] replaces the lane's, and receipts print them)."
        )
    dumped = checked.model_dump(mode="json", exclude_unset=True)
    return {name: dumped[name] for name in SECTIONS if name in data}


def with_hub_sections(settings: Settings, sections: Mapping[str, Any]) -> Settings:
    """`settings` (a lane's file) with the hub's `sections` in place of its own; the lane's store id and zone kept.

    `sections` are as `check_sections` returned them; `ValidationFailed` when they no longer pass.
    """
    checked = check_sections(sections)
    update: dict[str, Any] = {}
    if "store" in checked:
        own = {key: getattr(settings.store, key) for key in LANE_OWN}
        update["store"] = StoreSettings.model_validate({**checked["store"], **own})
    if "retention" in checked:
        update["retention"] = RetentionSettings.model_validate(checked["retention"])
    if "routing" in checked:
        update["routing"] = Settings.model_validate({"routing": checked["routing"]}).routing
    return settings.model_copy(update=update)


def providers_not_set_up(settings: Settings, sections: Mapping[str, Any]) -> tuple[str, ...]:
    """The providers the hub's `[routing]` names that this lane's file neither routes through nor sets up
    (`[providers.<id>]`): the lane cannot send through them, so it keeps its own routing then."""
    routing = sections.get("routing")
    if not isinstance(routing, Mapping):
        return ()
    f = settings.followups
    own = set(routing_of(settings).providers())
    own |= {*f.after_delivery, *f.daily_summary, *settings.providers}
    named = [p for v in routing.values() for p in (v if isinstance(v, list) else [v]) if isinstance(p, str) and p]
    return tuple(dict.fromkeys(p for p in named if p not in own))
