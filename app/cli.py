"""The `receiptdesk` command line. Every error is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from app import __version__
from app.config import logging_setup
from app.domain.delivery import DeliveryState
from app.domain.errors import NotFound, ReceiptDeskError, ValidationFailed
from app.domain.exit_codes import SUMMARY, ExitCode, exit_code_for
from app.domain.tokens import Scope

log = logging.getLogger("receiptdesk")

HOLDS_DATA_FOLDER = (None, "serve", "demo")
"""The commands that run until stopped and hold the data folder (None: the kiosk); they rotate the log."""


_SHOWN: dict[str, str] = {}
"""How each argument is shown in an error (`-q/--query`), by where it lands in the parsed arguments."""


class _Parser(argparse.ArgumentParser):
    """Errors in one line (exit 2), and every command takes the global options, before or after its name.

    Each subcommand's parser is of this class too (argparse makes them so), so a command added later
    takes the global options with nothing else to do.
    """

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._later_help: dict[argparse.Action, Callable[[], str]] = {}
        _global_options(self, top=top)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        _SHOWN.setdefault(action.dest, "/".join(action.option_strings) or action.dest)
        return action

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"receiptdesk: {message} (see `{self.prog} --help`)\n")

    def help_later(self, action: argparse.Action, text: Callable[[], str]) -> None:
        """`text()` becomes the help of `action` when this parser's help is shown, not before: a help
        text read from a registry then costs no other command the registry's import."""
        self._later_help[action] = text

    def format_help(self) -> str:
        for action, text in self._later_help.items():
            action.help = text()
        self._later_help.clear()
        return super().format_help()


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--config, --data-dir, --log-dir, --log-format, -v. Under a command they default to SUPPRESS, so
    a value given before the command is not overwritten by the command's default."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--config", type=Path, default=default(None), help="settings file (TOML); default: the platform config dir"
    )
    group.add_argument(
        "--data-dir", type=Path, default=default(None), help="where the database lives; default: the platform data dir"
    )
    group.add_argument(
        "--log-dir",
        type=Path,
        default=default(None),
        help="where receiptdesk.log goes (or RECEIPTDESK_LOG_DIR); default: logs/ in the data dir when one is "
        "given, else the platform log dir",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=default(None),
        help="json: one JSON object per line, on standard error and in the log file (default: "
        "RECEIPTDESK_LOG_FORMAT, else text)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="log more: -v one line per sale received and per delivery settled, -vv debugging",
    )


def _port(value: str) -> int:
    """A TCP port number: 0 (any free port) to 65535."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _sale_every(value: str) -> float:
    """The kiosk demo's pace: 0 (a sale only when asked) or seconds between sales, up to an hour."""
    from app.demo.register import sale_every

    try:
        return sale_every(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="receiptdesk",
        description="In-store e-receipts: kiosk, hub and tools.",
        epilog="exit status: " + "; ".join(f"{int(code)} {text}" for code, text in SUMMARY.items()) + ".",
        top=True,
    )
    parser.add_argument("--version", action="version", version=f"receiptdesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run headless: local API, webhooks and dispatcher")
    serve.add_argument("--host", help="address to listen on (default from settings: 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on (default from settings: 8765)")
    serve.add_argument(
        "--insecure-lan",
        action="store_true",
        help="listen beyond this machine over plain HTTP, without [api] tls_cert and tls_key (warns at each start)",
    )
    serve.add_argument(
        "--hub",
        action="store_true",
        help="run as the lanes' hub too ([database] url: PostgreSQL, several processes may share it; SQLite to try)",
    )

    demo = sub.add_parser("demo", help="the whole flow with a simulated POS and the provider sandbox")
    demo.add_argument("--headless", action="store_true", help="no windows: post sales and print figures")
    demo.add_argument(
        "--sales", type=int, default=None, help="how many sales to post (headless: 2000; with --lanes: 300 per lane)"
    )
    demo.add_argument(
        "--lanes",
        type=int,
        metavar="N",
        help="headless: a hub and N lanes (2 to 8) as processes of their own; one lane loses its hub for a while",
    )
    demo.add_argument(
        "--hub-database",
        metavar="URL",
        help="with --lanes: the hub's database (SQLite in the demo's folder unless a postgresql+psycopg:// URL)",
    )
    demo.add_argument("--json", action="store_true", help="print the figures as JSON")
    demo.add_argument("--in-process-sandbox", action="store_true", help="run the sandbox in this process")
    demo.add_argument(
        "--sale-every",
        type=_sale_every,
        metavar="SECONDS",
        help="kiosk demo: seconds between simulated sales (default 45; 0: only on New sale / Ctrl+N)",
    )

    receipts = sub.add_parser("receipts", help="look up and resend receipts").add_subparsers(
        dest="action", required=True
    )
    listing = receipts.add_parser("list", help="receipts, newest first")
    listing.add_argument("--query", "-q", help="sale id, last four digits of a card, phone or email")
    listing.add_argument("--since", help="from this date/time (ISO 8601)")
    listing.add_argument("--until", help="until this date/time (ISO 8601)")
    listing.add_argument(
        "--state", choices=[s.value for s in DeliveryState], help="only receipts with a delivery in this state"
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="a JSON list: ISO times in UTC, money as strings")
    listing.add_argument("--hub", action="store_true", help="every lane's receipts, from this lane's hub ([hub] url)")
    show = receipts.add_parser("show", help="one receipt and its delivery timeline")
    show.add_argument("receipt_id")
    show.add_argument("--as", dest="form", choices=("summary", "text", "sms", "html"), default="summary")
    show.add_argument("--hub", action="store_true", help="a receipt of any lane, from this lane's hub ([hub] url)")
    show.add_argument("--lane", help="with --hub: the lane that owns the receipt (store-0042/3)")
    show.add_argument("--json", action="store_true", help="with --hub: the hub's answer as JSON")
    resend = receipts.add_parser("resend", help="send a receipt again, or reprint it (--channel print)")
    resend.add_argument("receipt_id")
    resend.add_argument("--channel", choices=("email", "sms", "print"), required=True)
    resend.add_argument("--to", help="email address or phone number (not for print: the lane's printer)")
    resend.add_argument("--reason", required=True, help="why (kept in the audit log)")
    resend.add_argument(
        "--customer-agreed",
        action="store_true",
        help="the customer agreed, at the desk, to this receipt by text (needed for a number that never agreed)",
    )

    queue = sub.add_parser("queue", help="the outbox").add_subparsers(dest="action", required=True)
    queue.add_parser("status", help="deliveries by state, oldest pending").add_argument(
        "--json", action="store_true", help="as a JSON object"
    )
    retry = queue.add_parser("retry", help="put failed or dead deliveries back in the queue")
    retry.add_argument("delivery_ids", nargs="*", help="deliveries to retry (default: every failed or dead one)")
    queue.add_parser("held", help="deliveries held for a manager: the customer may already have them").add_argument(
        "--json", action="store_true", help="as a JSON list"
    )
    send_held = queue.add_parser("send-held", help="send a held delivery again (the customer may get it twice)")
    send_held.add_argument("delivery_id")
    drop_held = queue.add_parser("drop-held", help="do not send a held delivery again")
    drop_held.add_argument("delivery_id")
    drop_held.add_argument("--reason", required=True, help="why (kept in the audit log)")

    audit = sub.add_parser("audit", help="the tamper-evident log").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="check the hash chain end to end")
    audit_show = audit.add_parser("show", help="who did what and when, newest first")
    audit_show.add_argument("--since", help="from this date/time (ISO 8601) or this long ago (30m, 2h, 7d, 1w)")
    audit_show.add_argument(
        "--action", dest="audit_action", metavar="ACTION", help="only this action (manager.* for every manager.…)"
    )
    audit_show.add_argument("--limit", type=int, default=50, help="at most this many entries (default 50)")
    audit_show.add_argument("--json", action="store_true", help="a JSON list: times ISO 8601 in UTC")

    managers = sub.add_parser(
        "managers", help="who may unlock the kiosk's manager screens, each with a PIN of their own"
    ).add_subparsers(dest="action", required=True)
    for name, text in (
        ("add", "add a manager; the PIN is asked twice (or read from standard input)"),
        ("reset", "give a manager a new PIN (asked like add) and lift their lockout"),
        ("remove", "remove a manager: their PIN opens nothing after this"),
    ):
        managers.add_parser(name, help=text).add_argument("name", help="the manager's name, as the kiosk lists it")
    managers.add_parser("list", help="the managers, and who is locked after wrong PINs").add_argument(
        "--json", action="store_true", help="as a JSON list"
    )

    captures = sub.add_parser("captures", help="receipts read from a legacy POS's print stream").add_subparsers(
        dest="action", required=True
    )
    captures_list = captures.add_parser("list", help="captures, newest first")
    captures_list.add_argument("--state", choices=("sent", "held", "unparsed"), help="only captures in this state")
    captures_list.add_argument("--limit", type=int, default=50)
    for action, text in (
        ("show", "one capture's scrubbed text"),
        ("release", "send a held capture once you checked it holds no card data"),
        ("discard", "delete a held or unparsed capture"),
    ):
        captures.add_parser(action, help=text).add_argument("capture_id", help="the id, or its first characters")

    customers = sub.add_parser(
        "customers", help="a customer's rights: find what is held about them, export it, forget them"
    ).add_subparsers(dest="action", required=True)
    find = customers.add_parser("find", help="the customer a phone number or email address belongs to")
    find.add_argument("contact", metavar="PHONE|EMAIL")
    find.add_argument("--json", action="store_true", help="as a JSON list (contacts masked)")
    export = customers.add_parser("export", help="write FILE.json and FILE.html: receipts, deliveries, consents")
    export.add_argument("contact", metavar="PHONE|EMAIL")
    export.add_argument("--out", required=True, metavar="FILE", help="where to write (FILE.json and FILE.html)")
    forget = customers.add_parser("forget", help="erase the customer's contacts and name (refused under legal hold)")
    forget.add_argument("contact", metavar="PHONE|EMAIL")
    forget.add_argument("--reason", required=True, metavar="WHY", help="why (kept in the audit log)")

    archive = sub.add_parser(
        "archive", help="an archive for auditors, checked with nothing but the file"
    ).add_subparsers(dest="action", required=True)
    archive_export = archive.add_parser("export", help="one zip: receipts, deliveries, consents, audit segment")
    archive_export.add_argument("--from", dest="since", required=True, metavar="DATE", help="first day (or time)")
    archive_export.add_argument("--to", dest="until", required=True, metavar="DATE", help="last day, included")
    archive_export.add_argument("--out", required=True, metavar="FILE", help="the zip to write")
    archive.add_parser("verify", help="check an archive; one line per problem, exit 1 if any").add_argument(
        "file", metavar="FILE"
    )

    sandbox = sub.add_parser(
        "sandbox", help="run the provider sandbox on its own, or `sandbox fire PLATFORM` to send a signed webhook"
    )
    sandbox.add_argument("action", nargs="?", choices=("fire",), help="fire a platform webhook at the app")
    sandbox.help_later(sandbox.add_argument("platform", nargs="?"), _fired_platforms)
    sandbox.help_later(sandbox.add_argument("topic", nargs="?"), _fired_topics)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=_port, default=8766)
    sandbox.add_argument("--to", default="http://127.0.0.1:8765", help="the app's local API (for fire)")
    sandbox.add_argument("--seed", type=int, default=1, help="which simulated order (for fire)")
    sandbox.add_argument("--sandbox", default="http://127.0.0.1:8766", help="the sandbox keeping the order (for fire)")
    sandbox.add_argument("--missed", action="store_true", help="record the order but send no webhook (for fire)")
    sandbox.add_argument("--from", dest="sender", help="the customer's number (for fire twilio inbound)")
    sandbox.add_argument("--body", help="the customer's text (for fire twilio inbound)")

    health = sub.add_parser(
        "health", help="the outbox, providers and platform syncs, from the database; exit 1 if not ok"
    )
    health.add_argument("--json", action="store_true", help="the same JSON body as GET /v1/health")
    doctor = sub.add_parser(
        "doctor", help="check the installation: settings, secrets, database, credentials, clock, printer, port"
    )
    doctor.add_argument("--json", action="store_true", help="a JSON list of {name, status, message}")

    sync = sub.add_parser("sync", help="catch up now: poll the platforms for sales whose webhooks were missed")
    sync.help_later(
        sync.add_argument("platform", nargs="?"), lambda: f"{_polled_platforms()} (default: every configured one)"
    )

    schema = sub.add_parser("schema", help="print a JSON Schema").add_subparsers(dest="action", required=True)
    schema.add_parser("sale", help="the canonical sale a POS posts")

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply pending migrations")

    secrets = sub.add_parser("secrets", help="provider credentials in the OS keyring").add_subparsers(
        dest="action", required=True
    )
    setter = secrets.add_parser("set", help="store a secret read from standard input")
    setter.add_argument("provider", help="a provider or platform id (see `receiptdesk secrets list`)")
    setter.add_argument("field", help="one of its secret fields")
    secrets.add_parser("list", help="every provider and platform that keeps secrets, and their fields")
    secrets.add_parser("check", help="say whether this machine can store secrets")

    tokens = sub.add_parser("tokens", help="API clients (a POS, a monitor) and their tokens").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="make a client and print its token, once")
    create.add_argument("name", help="the client's name: letters, digits, dots, dashes, underscores")
    create.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        choices=[scope.value for scope in Scope],
        help="what it may do; repeat for more (default: sales:write; admin: everything)",
    )
    tokens.add_parser("list", help="every client: scopes, created, last used, revoked (never a token)")
    tokens.add_parser("revoke", help="revoke a client's token at once").add_argument("name")

    retention = sub.add_parser("retention", help="what is kept how long, and the purge").add_subparsers(
        dest="action", required=True
    )
    retention.add_parser("show", help="the retention periods, the last purge, and what the next one would remove")
    retention.add_parser("purge", help="remove now what retention says is due (legal holds keep theirs)").add_argument(
        "--dry-run", action="store_true", help="only count what would be removed; change nothing"
    )
    holds = sub.add_parser("holds", help="legal holds: what they cover is never purged").add_subparsers(
        dest="action", required=True
    )
    place = holds.add_parser("place", help="hold a customer's records, one sale, or the sales of a range of dates")
    place.add_argument("--customer", metavar="PHONE|EMAIL", help="the customer's phone number or email address")
    place.add_argument("--sale", metavar="SALE_ID", help="the sale's id, as the POS gave it")
    place.add_argument("--from", dest="since", metavar="DATE", help="first day of the range (YYYY-MM-DD, store time)")
    place.add_argument("--to", dest="until", metavar="DATE", help="last day of the range, included")
    place.add_argument("--reason", required=True, help="why (kept with the hold and in the audit log)")
    holds.add_parser("list", help="the active holds")
    release = holds.add_parser("release", help="release a hold: the next purge removes what it kept, where due")
    release.add_argument("hold_id", type=int, metavar="ID", help="the hold's id (see `receiptdesk holds list`)")
    release.add_argument("--reason", help="why (kept in the audit log)")

    hub = sub.add_parser("hub", help="on the hub: what it manages for the stores it serves").add_subparsers(
        dest="action", required=True
    )
    store_settings = hub.add_parser(
        "settings", help="a store's branding, routing and retention, which its lanes pull"
    ).add_subparsers(dest="settings_action", required=True)
    put = store_settings.add_parser("set", help="make FILE.toml ([store], [routing], [retention]) the next version")
    put.add_argument("store_id", metavar="STORE_ID", help="the store's id ([store] id of its lanes)")
    put.add_argument("file", metavar="FILE.toml", help="a TOML file with any of [store], [routing] and [retention]")
    store_settings.add_parser("show", help="the store's settings and their version").add_argument(
        "store_id", metavar="STORE_ID"
    )
    return parser


def _one_of(names: Sequence[str]) -> str:
    """`a, b or c`."""
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


def _fired_platforms() -> str:
    """The platforms the sandbox plays, from its registry of stand-ins."""
    from app.sandbox.platforms.registry import STAND_INS

    return f"{_one_of(sorted(STAND_INS))}; or twilio, with topic inbound: a customer's text to the store"


def _fired_topics() -> str:
    """What `sandbox fire PLATFORM TOPIC` can send besides each platform's usual sale event."""
    from app.sandbox.platforms.registry import STAND_INS

    updates = "; ".join(
        f"{name} {', '.join(stand_in.update_topics)}"
        for name, stand_in in sorted(STAND_INS.items())
        if stand_in.update_topics
    )
    return "the platform's usual sale event by default" + (f"; order updates too: {updates}" if updates else "")


def _polled_platforms() -> str:
    """The platforms a catch-up poll can ask, from the registry of pollers."""
    from app.triggers.catchup import POLLERS

    return _one_of(sorted(POLLERS))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `receiptdesk` console script: the exit status is an `ExitCode`.

    Every failure is one line on standard error; unless the line says all there is to know (a wrong
    id or value, which the person fixes by typing again), it ends with where the log file keeps the
    details (the traceback, the underlying error).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _refuse_unreadable_text(parser, args)
    # The event loop shares the GIL with the database writer thread; handing it over every 1 ms
    # rather than 5 ms keeps the loop (and the kiosk UI on it) responsive while the writer works.
    sys.setswitchinterval(0.001)
    json_lines = (args.log_format or os.environ.get("RECEIPTDESK_LOG_FORMAT", "text")).lower() == "json"
    log_file = logging_setup.configure(
        verbosity=args.verbose,
        json_lines=json_lines,
        log_dir=args.log_dir,
        data_dir=args.data_dir,
        rotate=args.command in HOLDS_DATA_FOLDER,
    )
    try:
        from app import commands

        return commands.run(args)
    except ReceiptDeskError as exc:
        return _failed(exc.message, exit_code_for(exc), exc, log_file, json_lines)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `receiptdesk receipts list | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.FAILED
    except OSError as exc:  # the machine refused: a file, a folder, a socket
        where = f" ({exc.filename})" if exc.filename else ""
        return _failed(f"{exc.strerror or exc}{where}", ExitCode.FAILED, exc, log_file, json_lines)
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return _failed(f"Unexpected error: {text}", ExitCode.INTERNAL, exc, log_file, json_lines)
    except BaseException as exc:
        if _cancelled(exc):
            return ExitCode.FAILED
        raise


def _cancelled(error: BaseException) -> bool:
    """Whether `error` is asyncio's CancelledError; when no command imported asyncio, it cannot be one
    (and `--help` or `schema sale` starts without importing it)."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(error, asyncio.CancelledError)


def _refuse_unreadable_text(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error for an argument that is not UTF-8 (bytes the terminal or a script passed as they were)."""
    command = " ".join(["receiptdesk", *(str(v) for v in (args.command, getattr(args, "action", None)) if v)])
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _is_utf8(text):
                parser.exit(
                    ExitCode.USAGE,
                    f"receiptdesk: argument {_SHOWN.get(name, name)}: {text!r} is not UTF-8 text "
                    f"(see `{command} --help`)\n",
                )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # Python keeps undecodable argument bytes as lone surrogates
        return False
    return True


def _failed(message: str, code: ExitCode, error: BaseException, log_file: Path | None, json_lines: bool) -> ExitCode:
    """Log the failure (with its traceback, in the file) and say it in one line on standard error."""
    line = " ".join(message.split())
    input_error = isinstance(error, NotFound | ValidationFailed)
    log.error(
        "%s",
        line,
        exc_info=None if input_error else error,
        extra={logging_setup.CONSOLE: json_lines, "exit_code": int(code)},
    )
    if not json_lines:
        details = f" (details in {log_file})" if log_file is not None and not input_error else ""
        print(f"receiptdesk: {line}{details}", file=sys.stderr)
    return code
