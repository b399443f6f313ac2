"""`sandbox`, `sync`, `schema`, `db` and `secrets`: tools for set-up and maintenance.

Each tool imports what it alone needs (the keyring, the registries, the migrations) when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from app.commands.common import settings_of, with_runtime
from app.config.paths import data_dir, database_url
from app.domain.errors import ConfigurationError, Unavailable, ValidationFailed

if TYPE_CHECKING:
    from app.main.runtime import Runtime

# -- sandbox, schema, db, secrets ---------------------------------------------------------------


def sandbox(args: argparse.Namespace) -> int:
    from app.sandbox.server import run_sandbox_forever

    try:
        run_sandbox_forever(args.host, args.port)
    except OSError as exc:
        raise Unavailable(f"Cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0


def sandbox_fire(args: argparse.Namespace) -> int:
    import httpx

    from app.sandbox.fire import fire
    from app.sandbox.platforms.registry import STAND_INS

    if not args.platform:
        raise ValidationFailed(f"Say which platform to fire: {', '.join(sorted(STAND_INS))}.")

    if args.platform == "twilio":
        return _fire_twilio_text(args)

    async def body() -> tuple[list[str], bool]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await fire(
                client,
                args.platform,
                app_url=args.to,
                sandbox_url=args.sandbox,
                topic=args.topic,
                seed=args.seed,
                missed=args.missed,
            )

    try:
        lines, ok = asyncio.run(body())
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    except httpx.HTTPError as exc:
        raise ConfigurationError(
            f"Cannot reach ReceiptDesk at {args.to} or the sandbox at {args.sandbox}: {type(exc).__name__}"
        ) from None
    print("\n".join(lines))
    return 0 if ok else 1


def _fire_twilio_text(args: argparse.Namespace) -> int:
    """`sandbox fire twilio inbound --from NUMBER --body TEXT`: a customer's text to the store's number."""
    import httpx

    from app.sandbox.fire import fire_twilio_text

    if args.topic != "inbound" or not args.sender or args.body is None:
        raise ValidationFailed("Fire a customer's text with: sandbox fire twilio inbound --from +1... --body TEXT.")

    async def body() -> tuple[list[str], bool]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await fire_twilio_text(client, app_url=args.to, sender=args.sender, body=args.body)

    try:
        lines, ok = asyncio.run(body())
    except httpx.HTTPError as exc:
        raise ConfigurationError(f"Cannot reach ReceiptDesk at {args.to}: {type(exc).__name__}") from None
    print("\n".join(lines))
    return 0 if ok else 1


def sync(args: argparse.Namespace) -> int:
    from app.services.reconcile import describe

    async def body(runtime: Runtime) -> list[str] | None:
        if runtime.reconcile is None:
            return None
        reports = await runtime.reconcile.sync(args.platform)
        lines = describe(reports) or ["No platform is set up for catch-up polls."]
        return [*lines, "failed" if any(not r.ok for r in reports) else "ok"]

    lines = with_runtime(args, body) or ["No platform is set up for catch-up polls.", "ok"]
    print("\n".join(lines[:-1]))
    return 0 if lines[-1] == "ok" else 1


def schema_sale(_args: argparse.Namespace) -> int:
    from app.domain.sale import Sale

    print(json.dumps(Sale.model_json_schema(), indent=2))
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    from app.main.database_only import open_database
    from app.storage import schema

    settings = settings_of(args)
    db = open_database(settings, args.data_dir)
    try:
        revision = schema.current_revision(db.write_engine)
    finally:
        db.close()
    where = database_url(data_dir(args.data_dir), settings.database.url).split("@")[-1]
    print(f"Database {where} is at revision {revision}.")
    return 0


def secrets_set(args: argparse.Namespace) -> int:
    from app.config.secrets import SecretStore
    from app.services.secret_owners import check_secret_name

    owner, field = args.provider.lower(), args.field.lower()
    check_secret_name(owner, field)
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{args.provider} {args.field}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    SecretStore().set(owner, field, value)
    print(f"Stored {owner} {field} in the keyring.")
    return 0


def secrets_list(_args: argparse.Namespace) -> int:
    from app.services.secret_owners import secret_owners

    for owner, fields in secret_owners().items():
        names = ", ".join(f.name if f.required else f"{f.name} (optional)" for f in fields)
        print(f"{owner}: {names}")
    return 0


def secrets_check(_args: argparse.Namespace) -> int:
    from app.config.secrets import keyring_problem

    problem = keyring_problem()
    if problem:
        print(f"receiptdesk: {problem}", file=sys.stderr)
        return 1
    print("The keyring can store secrets on this machine.")
    return 0
