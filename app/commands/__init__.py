"""What each `receiptdesk` command does; `cli.py` only parses.

One module per group of commands; `run` picks the handler, and imports its module only then: a
command loads what it uses and nothing more (`schema sale` no database, `managers list` no web
framework, providers or devices).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import cast


def run(args: argparse.Namespace) -> int:
    name = _COMMANDS.get((args.command, getattr(args, "action", None))) or _COMMANDS.get((args.command, None))
    if name == "records:receipts_show" and getattr(args, "hub", False):  # a receipt of any lane, from the hub
        name = "hub_list:receipts_show_hub"
    if name is None:  # no command: the kiosk
        return _kiosk(args)
    return handler(name)(args)


def handler(name: str) -> Callable[[argparse.Namespace], int]:
    """The function a `module:function` of the table names, its module (in this package) imported now."""
    module, _, function = name.partition(":")
    return cast(Callable[[argparse.Namespace], int], getattr(importlib.import_module(f"{__name__}.{module}"), function))


def _kiosk(args: argparse.Namespace) -> int:
    from app.commands.common import kiosk_runner, settings_of
    from app.config.instance import InstanceLock
    from app.config.paths import data_dir, default_config_file

    run_kiosk = kiosk_runner()
    settings = settings_of(args)
    with InstanceLock(data_dir(args.data_dir)):
        return run_kiosk(settings, args.data_dir, demo=False, config_path=args.config or default_config_file())


_COMMANDS: dict[tuple[str | None, str | None], str] = {
    ("captures", "list"): "captures:captures_list",
    ("captures", "show"): "captures:captures_show",
    ("captures", "release"): "captures:captures_release",
    ("captures", "discard"): "captures:captures_discard",
    ("customers", "find"): "customers:customers_find",
    ("customers", "export"): "customers:customers_export",
    ("customers", "forget"): "customers:customers_forget",
    ("archive", "export"): "customers:archive_export",
    ("archive", "verify"): "customers:archive_verify",
    ("serve", None): "serving:serve",
    ("demo", None): "serving:demo",
    ("receipts", "list"): "records:receipts_list",
    ("receipts", "show"): "records:receipts_show",
    ("receipts", "resend"): "records:receipts_resend",
    ("queue", "status"): "records:queue_status",
    ("queue", "retry"): "records:queue_retry",
    ("queue", "held"): "records:queue_held",
    ("queue", "send-held"): "records:queue_send_held",
    ("queue", "drop-held"): "records:queue_drop_held",
    ("health", None): "records:health",
    ("doctor", None): "records:doctor",
    ("audit", "verify"): "records:audit_verify",
    ("audit", "show"): "records:audit_show",
    ("managers", "add"): "managers:managers_add",
    ("managers", "list"): "managers:managers_list",
    ("managers", "remove"): "managers:managers_remove",
    ("managers", "reset"): "managers:managers_reset",
    ("sandbox", None): "tools:sandbox",
    ("sandbox", "fire"): "tools:sandbox_fire",
    ("sync", None): "tools:sync",
    ("schema", "sale"): "tools:schema_sale",
    ("db", "upgrade"): "tools:db_upgrade",
    ("secrets", "set"): "tools:secrets_set",
    ("secrets", "list"): "tools:secrets_list",
    ("secrets", "check"): "tools:secrets_check",
    ("tokens", "create"): "tokens:tokens_create",
    ("tokens", "list"): "tokens:tokens_list",
    ("tokens", "revoke"): "tokens:tokens_revoke",
    ("retention", "show"): "retention:retention_show",
    ("retention", "purge"): "retention:retention_purge",
    ("holds", "place"): "retention:holds_place",
    ("holds", "list"): "retention:holds_list",
    ("holds", "release"): "retention:holds_release",
    ("hub", "settings"): "hub_settings:hub_settings",
}
"""Each command's handler, as `module:function` of this package: the module is imported when the command runs."""
