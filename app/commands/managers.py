"""`managers`: the people who may unlock the kiosk's manager screens, each with a PIN of their own."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING

from app.commands.common import os_actor, with_database
from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.services.managers import ManagerService

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime


def read_pin(name: str) -> str:
    """The PIN, typed twice without echo on a terminal; else the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        pin = getpass.getpass(f"PIN for {name} (4 to 12 digits): ")
        if getpass.getpass("The same PIN again: ") != pin:
            raise ValidationFailed("The two PINs differ; nothing was saved.", field="pin")
        return pin.strip()
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line.strip():
        raise ValidationFailed("No PIN was given: type it when asked, or pipe it on standard input.", field="pin")
    return line.strip()


def managers_add(args: argparse.Namespace) -> int:
    pin = read_pin(args.name)
    added = with_database(args, lambda r: ManagerService(r.db).add(args.name, pin, actor=os_actor()))
    print(f"Manager {added.name} added; they sign in at the kiosk with their name and PIN.")
    return 0


def managers_reset(args: argparse.Namespace) -> int:
    pin = read_pin(args.name)
    with_database(args, lambda r: ManagerService(r.db).reset_pin(args.name, pin, actor=os_actor()))
    print(f"{args.name} has a new PIN; any lockout is lifted.")
    return 0


def managers_remove(args: argparse.Namespace) -> int:
    with_database(args, lambda r: ManagerService(r.db).remove(args.name, actor=os_actor()))
    print(f"Manager {args.name} removed; their PIN opens nothing now.")
    return 0


def managers_list(args: argparse.Namespace) -> int:
    async def body(r: DatabaseRuntime) -> tuple[list[dict[str, object]], list[str]]:
        states = await ManagerService(r.db).current()
        now = utcnow()
        rows, lines = [], []
        for state in states:
            locked = state.locked_until if state.locked_until and state.locked_until > now else None
            rows.append(
                {
                    "name": state.manager.name,
                    "added_at": state.manager.created_at.isoformat(),
                    "wrong_pins": state.failures,
                    "locked_until": locked.isoformat() if locked else None,
                }
            )
            status = f"locked until {locked.astimezone():%Y-%m-%d %H:%M}" if locked else "can sign in"
            if state.failures and not locked:
                status += f" ({state.failures} wrong PIN{'s' if state.failures != 1 else ''} in a row)"
            lines.append(f"{state.manager.name:<24} added {state.manager.created_at.astimezone():%Y-%m-%d}  {status}")
        return rows, lines

    rows, lines = with_database(args, body)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not lines:
        print("No managers yet: add one with `receiptdesk managers add NAME`.")
    else:
        print("\n".join(lines))
    return 0
