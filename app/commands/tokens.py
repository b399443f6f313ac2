"""`tokens create | list | revoke`: the local API's clients (a POS, a monitor) and their tokens."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from app.commands.common import os_actor, settings_of
from app.main.database_only import open_database
from app.services.tokens import TokenService

T = TypeVar("T")


def tokens_create(args: argparse.Namespace) -> int:
    """Make a client; its token is the last line of the output, and is never shown again."""
    issued = _with_tokens(args, lambda tokens: tokens.create(args.name, args.scopes or (), actor=os_actor()))
    scopes = ", ".join(s.value for s in issued.client.scopes)
    print(f"Made the API client {issued.client.name} with the scopes: {scopes}.")
    print("Give it this token now: it is shown only this once, and ReceiptDesk keeps only its digest.")
    print("The client sends it in each request as the header `Authorization: Bearer TOKEN`.")
    print(issued.token)
    return 0


def tokens_list(args: argparse.Namespace) -> int:
    clients = _with_tokens(args, lambda tokens: tokens.list())
    if not clients:
        print("No API clients yet: `receiptdesk tokens create NAME` makes one.")
        return 0
    width = max(len("name"), *(len(c.name) for c in clients))
    scopes_width = max(len("scopes"), *(len(" ".join(s.value for s in c.scopes)) for c in clients))
    print(f"{'name':<{width}}  {'scopes':<{scopes_width}}  {'created':<16}  {'by':<12}  {'last used':<16}  revoked")
    for c in clients:
        scopes = " ".join(s.value for s in c.scopes)
        print(
            f"{c.name:<{width}}  {scopes:<{scopes_width}}  {_when(c.created_at):<16}  {c.created_by[:12]:<12}  "
            f"{_when(c.last_used_at):<16}  {_when(c.revoked_at)}"
        )
    return 0


def tokens_revoke(args: argparse.Namespace) -> int:
    client, revoked = _with_tokens(args, lambda tokens: tokens.revoke(args.name, actor=os_actor()))
    if revoked:
        print(f"Revoked the API token of {client.name}: its requests are refused from now on.")
    else:
        print(f"The API token of {client.name} was already revoked on {_when(client.revoked_at)}.")
    return 0


def _with_tokens(args: argparse.Namespace, fn: Callable[[TokenService], Awaitable[T]]) -> T:
    """Run `fn` over the data folder's API clients (opening, and migrating, its database)."""

    async def body() -> T:
        db = open_database(settings_of(args), args.data_dir)
        try:
            return await fn(TokenService(db))
        finally:
            db.close()

    return asyncio.run(body())


def _when(at: datetime | None) -> str:
    return f"{at.astimezone():%Y-%m-%d %H:%M}" if at is not None else "-"
