"""`receipts list --hub` and `receipts show --hub`: the store's receipts across lanes, read from this lane's
hub (`GET /v1/hub/receipts`, `GET /v1/hub/receipts/{id}`, docs/hub.md) with the token the lane pushes with
(`receiptdesk secrets set hub token`), through `app.services.hub_client` (imported when the command runs)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from app.commands.common import parse_time, settings_of
from app.domain.contacts import mask_contact
from app.domain.errors import ConfigurationError, ValidationFailed
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN

if TYPE_CHECKING:
    from app.services.hub_client import HubClient

T = TypeVar("T")

NO_HUB = (
    "This lane has no hub: set [hub] url in its settings file to read the whole store's receipts, "
    "or leave out --hub to read this lane's own."
)


def receipts_list_hub(args: argparse.Namespace) -> int:
    """Print the receipts the hub finds, one line each with the lane they came from (or `--json`)."""
    if args.state:
        raise ValidationFailed("--state is not available with --hub: leave it out, or leave out --hub.", "state")
    since, until = parse_time(args.since, "since"), parse_time(args.until, "until")
    rows = _ask(args, lambda hub: hub.receipts(args.query, since, until, limit=args.limit))
    if args.json:
        print(json.dumps([dict(r.raw) for r in rows], indent=2))
        return 0
    if not rows:
        print("No receipts of any lane match.")
        return 0
    print(f"{'occurred':<19}  {'receipt':<36}  {'sale':<12} {'lane':>4} {'total':>10}  {'state':<10}  from lane")
    for r in rows:
        print(
            f"{r.occurred_at.astimezone():%Y-%m-%d %H:%M:%S}  {r.receipt_id:<36}  "
            f"{r.sale_id:<12} {r.lane or '':>4} {'$' + format(r.total, ',.2f'):>10}  "
            f"{r.state or 'none':<10}  {r.lane_id}"
        )
    return 0


def receipts_show_hub(args: argparse.Namespace) -> int:
    """Print one receipt of any lane as the hub holds it: the sale, its deliveries (masked) and requests."""
    if getattr(args, "form", "summary") != "summary":
        raise ValidationFailed("--as is not available with --hub: leave it out, or leave out --hub.", "as")
    found = _ask(args, lambda hub: hub.receipt(args.receipt_id, args.lane))
    if args.json:
        print(json.dumps(dict(found.raw), indent=2))
        return 0
    r = found.receipt
    print(f"Receipt {r.receipt_id} of lane {r.lane_id}")
    print(f"  sale {r.sale_id}, {r.occurred_at.astimezone():%Y-%m-%d %H:%M:%S}, ${r.total:,.2f}", end="")
    print(f", card ending {r.card_last4}" if r.card_last4 else "")
    print("  deliveries:" if found.deliveries else "  no deliveries")
    for d in found.deliveries:
        print(
            f"    {d.get('channel')} to {mask_contact(str(d.get('recipient') or ''))}: {d.get('state')}, "
            f"{d.get('attempts')} attempt(s)"
        )
    for q in found.requests:
        what = f"{q.channel} to {q.to}" if q.to else str(q.channel)
        print(f"  request {q.id}: {what}, {q.state}" + (f" ({q.detail})" if q.detail else ""))
    return 0


def _ask(args: argparse.Namespace, call: Callable[[HubClient], Coroutine[Any, Any, T]]) -> T:
    url = settings_of(args).hub.url
    if not url:
        raise ConfigurationError(NO_HUB)
    from app.config.secrets import SecretStore
    from app.services.hub_client import HubClient

    hub = HubClient(url, lambda: SecretStore().get(HUB_OWNER, HUB_TOKEN.name))
    return asyncio.run(call(hub))
