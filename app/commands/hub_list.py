"""`receipts list --hub`: the store's receipts across lanes, read from this lane's hub
(`GET /v1/hub/receipts`, docs/hub.md) with the token the lane pushes with (`receiptdesk secrets set hub token`)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.commands.common import parse_time, settings_of
from app.domain.errors import ConfigurationError, Unavailable, ValidationFailed
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN

RECEIPTS = "/v1/hub/receipts"
TIMEOUT_SECONDS = 10.0

NO_HUB = (
    "This lane has no hub: set [hub] url in its settings file to read the whole store's receipts, "
    "or leave out --hub to list this lane's own."
)
NO_CREDENTIAL = (
    "This lane has no token for its hub: create one on the hub with the hub:sync and receipts:read scopes and "
    "set it here with `receiptdesk secrets set hub token`."
)


def receipts_list_hub(args: argparse.Namespace) -> int:
    """Print the receipts the hub finds, one line each with the lane they came from (or `--json`)."""
    if args.state:
        raise ValidationFailed("--state is not available with --hub: leave it out, or leave out --hub.", "state")
    since, until = parse_time(args.since, "since"), parse_time(args.until, "until")
    url = settings_of(args).hub.url
    if not url:
        raise ConfigurationError(NO_HUB)
    from app.config.secrets import SecretStore

    token = SecretStore().get(HUB_OWNER, HUB_TOKEN.name)
    if not token:
        raise ConfigurationError(NO_CREDENTIAL)
    params = {"limit": str(args.limit)}
    for name, value in (("q", args.query), ("since", since), ("until", until)):
        if value:
            params[name] = value.isoformat() if isinstance(value, datetime) else value
    rows = fetch(url.rstrip("/"), token, params)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No receipts of any lane match.")
        return 0
    print(f"{'occurred':<19}  {'receipt':<36}  {'sale':<12} {'lane':>4} {'total':>10}  {'state':<10}  from lane")
    for r in rows:
        print(
            f"{datetime.fromisoformat(r['occurred_at']).astimezone():%Y-%m-%d %H:%M:%S}  {r['receipt_id']:<36}  "
            f"{r['sale_id']:<12} {r['lane'] or '':>4} {'$' + format(_money(r['total']), ',.2f'):>10}  "
            f"{r['state'] or 'none':<10}  {r['lane_id']}"
        )
    return 0


def fetch(url: str, token: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """The hub's answer to `GET /v1/hub/receipts`; one plain sentence (an error) when it gives none."""
    import httpx

    try:
        answer = httpx.get(
            url + RECEIPTS, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPError:
        raise Unavailable(
            f"The hub at {url} did not answer: check that it is running and that this lane can reach it "
            "(leave out --hub to list this lane's own receipts)."
        ) from None
    if answer.status_code in (401, 403):
        raise ConfigurationError(
            f"The hub at {url} refused this lane's token for reading receipts: on the hub, make one with the "
            "hub:sync and receipts:read scopes and set it here with `receiptdesk secrets set hub token`."
        )
    body = _json(answer)
    if answer.status_code == 422 and isinstance(body, dict) and isinstance(body.get("error"), str):
        raise ValidationFailed(f"The hub refused the search: {body['error']}")
    if answer.status_code != 200 or not isinstance(body, list) or not all(_is_receipt(r) for r in body):
        raise Unavailable(
            f"The hub at {url} did not give the receipts (HTTP {answer.status_code}): try again in a minute."
        )
    return body


def _json(answer: Any) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _is_receipt(row: Any) -> bool:
    names = ("lane_id", "receipt_id", "sale_id", "occurred_at", "total")
    if not isinstance(row, dict) or not all(isinstance(row.get(n), str) for n in names):
        return False
    try:
        datetime.fromisoformat(row["occurred_at"])
        _money(row["total"])
    except (ValueError, InvalidOperation):
        return False
    return True


def _money(text: str) -> Decimal:
    return Decimal(text)
