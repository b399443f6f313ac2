"""What each `receiptdesk` command does; `cli.py` only parses.

One module per group of commands; `run` picks the handler.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from app.commands.captures import captures_discard, captures_list, captures_release, captures_show
from app.commands.common import kiosk_runner, settings_of
from app.commands.customers import (
    archive_export,
    archive_verify,
    customers_export,
    customers_find,
    customers_forget,
)
from app.commands.managers import managers_add, managers_list, managers_remove, managers_reset
from app.commands.records import (
    audit_show,
    audit_verify,
    doctor,
    health,
    queue_drop_held,
    queue_held,
    queue_retry,
    queue_send_held,
    queue_status,
    receipts_list,
    receipts_resend,
    receipts_show,
)
from app.commands.retention import holds_list, holds_place, holds_release, retention_purge, retention_show
from app.commands.serving import demo, serve
from app.commands.tokens import tokens_create, tokens_list, tokens_revoke
from app.commands.tools import (
    db_upgrade,
    sandbox,
    sandbox_fire,
    schema_sale,
    secrets_check,
    secrets_list,
    secrets_set,
    sync,
)
from app.config.instance import InstanceLock
from app.config.paths import data_dir, default_config_file


def run(args: argparse.Namespace) -> int:
    handler = _COMMANDS.get((args.command, getattr(args, "action", None))) or _COMMANDS.get((args.command, None))
    if handler is None:  # no command: the kiosk
        run_kiosk = kiosk_runner()
        settings = settings_of(args)
        with InstanceLock(data_dir(args.data_dir)):
            return run_kiosk(settings, args.data_dir, demo=False, config_path=args.config or default_config_file())
    return handler(args)


_COMMANDS: dict[tuple[str | None, str | None], Callable[[argparse.Namespace], int]] = {
    ("captures", "list"): captures_list,
    ("captures", "show"): captures_show,
    ("captures", "release"): captures_release,
    ("captures", "discard"): captures_discard,
    ("customers", "find"): customers_find,
    ("customers", "export"): customers_export,
    ("customers", "forget"): customers_forget,
    ("archive", "export"): archive_export,
    ("archive", "verify"): archive_verify,
    ("serve", None): serve,
    ("demo", None): demo,
    ("receipts", "list"): receipts_list,
    ("receipts", "show"): receipts_show,
    ("receipts", "resend"): receipts_resend,
    ("queue", "status"): queue_status,
    ("queue", "retry"): queue_retry,
    ("queue", "held"): queue_held,
    ("queue", "send-held"): queue_send_held,
    ("queue", "drop-held"): queue_drop_held,
    ("health", None): health,
    ("doctor", None): doctor,
    ("audit", "verify"): audit_verify,
    ("audit", "show"): audit_show,
    ("managers", "add"): managers_add,
    ("managers", "list"): managers_list,
    ("managers", "remove"): managers_remove,
    ("managers", "reset"): managers_reset,
    ("sandbox", None): sandbox,
    ("sandbox", "fire"): sandbox_fire,
    ("sync", None): sync,
    ("schema", "sale"): schema_sale,
    ("db", "upgrade"): db_upgrade,
    ("secrets", "set"): secrets_set,
    ("secrets", "list"): secrets_list,
    ("secrets", "check"): secrets_check,
    ("tokens", "create"): tokens_create,
    ("tokens", "list"): tokens_list,
    ("tokens", "revoke"): tokens_revoke,
    ("retention", "show"): retention_show,
    ("retention", "purge"): retention_purge,
    ("holds", "place"): holds_place,
    ("holds", "list"): holds_list,
    ("holds", "release"): holds_release,
}
