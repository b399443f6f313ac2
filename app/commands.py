"""What each `receiptdesk` command does; `cli.py` only parses."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from app.config.instance import InstanceLock
from app.config.paths import data_dir, database_url, default_config_file
from app.config.secrets import SecretStore, keyring_problem
from app.config.settings import Settings, load_settings, require_store
from app.domain.capture import CaptureState
from app.domain.channels import Channel
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState
from app.domain.errors import ConfigurationError, Unavailable, ValidationFailed
from app.domain.records import ReceiptSummary
from app.domain.sale import Sale
from app.main import Runtime, build_runtime, open_database, settle_heap
from app.services.capture import CaptureService
from app.services.health import Health
from app.services.secret_owners import check_secret_name, secret_owners
from app.storage import schema
from app.support.asgi_server import start_asgi_server

T = TypeVar("T")


def run(args: argparse.Namespace) -> int:
    handler = _COMMANDS.get((args.command, getattr(args, "action", None))) or _COMMANDS.get((args.command, None))
    if handler is None:  # no command: the kiosk
        run_kiosk = _kiosk()
        settings = _settings(args)
        with InstanceLock(data_dir(args.data_dir)):
            return run_kiosk(settings, args.data_dir, demo=False, config_path=args.config or default_config_file())
    return handler(args)


def _hold_data_folder(args: argparse.Namespace) -> contextlib.AbstractContextManager[object]:
    """The data folder's lock for the run of a demo given --data-dir (without one, its folder is its own)."""
    return InstanceLock(data_dir(args.data_dir)) if args.data_dir is not None else contextlib.nullcontext()


def _kiosk() -> Callable[..., int]:
    """`run_kiosk`, or one line saying how to install the kiosk: a core install (a hub) has no Qt."""
    try:
        from app.ui_launch import run_kiosk
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("PySide6", "shiboken6", "qasync"):
            raise
        raise ConfigurationError(
            "The kiosk is not installed (this installation has no Qt): pip install 'receiptdesk[kiosk]'; "
            "`receiptdesk serve` and `receiptdesk demo --headless` run without it."
        ) from None
    return run_kiosk


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or default_config_file()
    return load_settings(path, must_exist=args.config is not None)


def _with_runtime(args: argparse.Namespace, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    async def body() -> T:
        runtime = build_runtime(_settings(args), data=args.data_dir, sending=False)
        try:
            return await fn(runtime)
        finally:
            await runtime.close()

    return asyncio.run(body())


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"--{name}: {value!r} is not an ISO 8601 date or time.") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


# -- serve -------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    require_store(settings, args.config or default_config_file())  # no receipt goes out without the store's name

    async def body() -> None:
        runtime = build_runtime(settings, data=args.data_dir)
        api = runtime.local_api()
        try:
            server = await start_asgi_server(
                api, args.host or settings.api.host, settings.api.port if args.port is None else args.port, name="api"
            )
        except OSError as exc:
            await runtime.close()
            raise Unavailable(f"Cannot listen on port {args.port or settings.api.port}: {exc.strerror}") from None
        runtime.start_dispatching()
        settle_heap()
        print(f"ReceiptDesk serving on {server.url} (database {data_dir(args.data_dir)})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await asyncio.wait([asyncio.ensure_future(stop.wait()), server.task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await server.stop()
            await runtime.close()

    with InstanceLock(data_dir(args.data_dir)):
        asyncio.run(body())
    return 0


# -- demo --------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from app.demo import headless as demo

    if not args.headless:
        run_kiosk = _kiosk()
        settings = _settings(args)
        with _hold_data_folder(args):
            return run_kiosk(settings, args.data_dir, demo=True)
    if args.sales < 1:
        raise ValidationFailed("--sales must be at least 1.")
    options = demo.DemoOptions(
        sales=args.sales,
        paced_sales=min(200, max(1, args.sales // 10)),
        sandbox_process=not args.in_process_sandbox,
        data_dir=args.data_dir,
    )
    if not args.json:
        print(f"Posting {args.sales} simulated sales through the local API into the sandbox...", flush=True)
    with _hold_data_folder(args):
        figures = asyncio.run(demo.run_headless(options))
    print(json.dumps(figures, indent=2) if args.json else demo.format_report(figures))
    return 0 if not figures["pos_errors"] else 1


# -- receipts, queue, audit --------------------------------------------------------------------


def _receipts_list(args: argparse.Namespace) -> int:
    state = DeliveryState(args.state) if args.state else None
    since, until = _parse_time(args.since, "since"), _parse_time(args.until, "until")
    rows = _with_runtime(
        args, lambda r: r.receipts.list(since=since, until=until, query=args.query, state=state, limit=args.limit)
    )
    if args.json:
        print(json.dumps([_receipt_json(r) for r in rows], indent=2))
        return 0
    if not rows:
        print("No receipts match.")
        return 0
    print(f"{'created':<19}  {'receipt':<36}  {'sale':<12} {'lane':>4} {'total':>10}  deliveries")
    for r in rows:
        deliveries = (
            ", ".join(
                f"{c.value} {mask_contact(to)} {s.value}"
                for c, to, s in zip(r.channels, r.recipients, r.states, strict=True)
            )
            or "none"
        )
        print(
            f"{r.created_at.astimezone():%Y-%m-%d %H:%M:%S}  {r.receipt_id:<36}  {r.sale_id:<12} {r.lane:>4} "
            f"{'$' + format(r.total, ',.2f'):>10}  {deliveries}"
        )
    return 0


def _receipts_show(args: argparse.Namespace) -> int:
    detail = _with_runtime(args, lambda r: r.receipts.get(args.receipt_id))
    if args.form != "summary":
        print({"text": detail.text, "sms": detail.sms_body, "html": detail.html}[args.form])
        return 0
    s = detail.summary
    print(f"Receipt {s.receipt_id}  sale {s.sale_id}  store {s.store_id}  lane {s.lane}  total ${s.total:,.2f}")
    print(
        f"Created {s.created_at.astimezone():%Y-%m-%d %H:%M:%S}  language {detail.language}  "
        f"SMS {detail.sms_segments} segment(s)  hash {detail.content_hash[:16]}"
    )
    for d in detail.deliveries:
        print(
            f"  {d.channel.value:<5} {mask_contact(d.recipient):<22} via {d.provider:<9} {d.state.value}"
            + (f"  ({d.reason})" if d.reason else "")
        )
        for a in detail.attempts.get(d.id, ()):
            print(
                f"      #{a.number} {a.finished_at.astimezone():%H:%M:%S} {a.outcome}"
                + (f" {a.status_code}" if a.status_code else "")
                + (f" {a.error}" if a.error else "")
            )
        for e in detail.events.get(d.id, ()):
            print(
                f"      {e.occurred_at.astimezone():%H:%M:%S} {e.kind} ({e.provider} {e.raw_status})"
                + (f" {e.detail}" if e.detail else "")
            )
    return 0


def _receipts_resend(args: argparse.Namespace) -> int:
    async def body(r: Runtime) -> str:
        delivery = await r.receipts.resend(
            args.receipt_id, Channel(args.channel), args.to, reason=args.reason, actor="cli"
        )
        return delivery

    delivery_id = _with_runtime(args, body)
    print(f"Queued delivery {delivery_id}; a running `receiptdesk serve` or kiosk sends it.")
    return 0


def _receipt_json(r: ReceiptSummary) -> dict[str, object]:
    """One receipt of `receipts list --json`: every key always there, times ISO 8601 in UTC, money a string."""
    return {
        "receipt_id": r.receipt_id,
        "sale_id": r.sale_id,
        "store_id": r.store_id,
        "lane": r.lane,
        "occurred_at": _iso(r.occurred_at),
        "created_at": _iso(r.created_at),
        "total": f"{r.total:.2f}",
        "deliveries": [
            {"channel": c.value, "recipient": mask_contact(to), "state": s.value}
            for c, to, s in zip(r.channels, r.recipients, r.states, strict=True)
        ],
    }


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when is not None else None


def _queue_status(args: argparse.Namespace) -> int:
    status = _with_runtime(args, lambda r: r.receipts.queue_status())
    total = sum(status.by_state.values())
    if args.json:
        queue = {
            "total": total,
            "by_state": dict(sorted(status.by_state.items())),
            "due_now": status.due_now,
            "oldest_pending_at": _iso(status.oldest_pending_at),
            "oldest_due_at": _iso(status.oldest_due_at),
        }
        print(json.dumps(queue, indent=2))
        return 0
    print(f"{total} deliveries: " + (", ".join(f"{k} {v}" for k, v in sorted(status.by_state.items())) or "none"))
    print(f"Due now: {status.due_now}")
    if status.oldest_pending_at:
        print(f"Oldest pending since {status.oldest_pending_at.astimezone():%Y-%m-%d %H:%M:%S}")
    return 0


def _queue_retry(args: argparse.Namespace) -> int:
    moved = _with_runtime(args, lambda r: r.receipts.retry(args.delivery_ids or None, actor="cli"))
    if args.delivery_ids and not moved:
        print("receiptdesk: None of those deliveries is failed or dead: nothing was queued again.", file=sys.stderr)
        return 1
    print(f"{moved} deliveries queued again.")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    report = _with_runtime(args, lambda r: r.receipts.verify_audit())
    if report.ok:
        print(f"Audit log intact: {report.entries} entries, chain verified.")
        return 0
    print(
        f"receiptdesk: audit log BROKEN at entry {report.first_bad_seq}: {report.problem} "
        f"({report.entries} entries verified before it)",
        file=sys.stderr,
    )
    return 3


# -- health, doctor -----------------------------------------------------------------------------


def _health(args: argparse.Namespace) -> int:
    """The health as the database and the settings show it (exit 1 when not ok); `--json`: `/v1/health`'s body."""
    from app.server.schemas import HealthOut

    health = _with_runtime(args, lambda r: r.health.recorded())
    if args.json:
        print(json.dumps(HealthOut.of(health).model_dump(mode="json"), indent=2))
    else:
        print("\n".join(_health_lines(health)))
    return 0 if health.ok else 1


def _health_lines(h: Health) -> list[str]:
    waited = h.oldest_due_age_s or 0.0
    lines = [
        f"Not ok: a delivery has been due for {waited / 60:.0f} min and nothing sends it: "
        "is `receiptdesk serve` (or the kiosk) running on this database?"
        if not h.ok
        else "Ok: nothing has waited past its due time for long."
    ]
    states = ", ".join(f"{k} {v}" for k, v in sorted(h.by_state.items())) or "none"
    lines.append(f"Queue: {h.queue_depth} to send, {h.due_now} due now; all deliveries: {states}.")
    if h.oldest_pending_age_s is not None:
        lines.append(f"Oldest pending: {h.oldest_pending_age_s / 60:.0f} min old.")
    providers = ", ".join(p.provider for p in h.providers) or "none"
    lines.append(f"Providers: {providers} (how they fare live: GET /v1/health of the running ReceiptDesk).")
    for s in h.platform_sync:
        when = f", last synced {s.last_success_at.astimezone():%Y-%m-%d %H:%M:%S}" if s.last_success_at else ""
        why = s.last_error or s.detail
        lines.append(f"Platform {s.platform}: {s.state}{when}" + (f" ({why})" if why else "") + ".")
    return lines


def _doctor(args: argparse.Namespace) -> int:
    """Every check of the installation, one line each (or a JSON list); exit 1 when one failed."""
    from app.main.doctor import run_doctor

    config = args.config or default_config_file()
    report = asyncio.run(run_doctor(config, must_exist=args.config is not None, data=args.data_dir))
    print(json.dumps(report.as_json(), indent=2) if args.json else "\n".join(report.lines()))
    return 0 if report.ok else 1


# -- sandbox, schema, db, secrets ---------------------------------------------------------------


def _sandbox(args: argparse.Namespace) -> int:
    from app.sandbox.server import run_sandbox_forever

    try:
        run_sandbox_forever(args.host, args.port)
    except OSError as exc:
        raise Unavailable(f"Cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0


def _sandbox_fire(args: argparse.Namespace) -> int:
    import httpx

    from app.sandbox.fire import fire
    from app.sandbox.platforms.registry import STAND_INS

    if not args.platform:
        raise ValidationFailed(f"Say which platform to fire: {', '.join(sorted(STAND_INS))}.")

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


def _sync(args: argparse.Namespace) -> int:
    from app.services.reconcile import describe

    async def body(runtime: Runtime) -> list[str] | None:
        if runtime.reconcile is None:
            return None
        reports = await runtime.reconcile.sync(args.platform)
        lines = describe(reports) or ["No platform is set up for catch-up polls."]
        return [*lines, "failed" if any(not r.ok for r in reports) else "ok"]

    lines = _with_runtime(args, body) or ["No platform is set up for catch-up polls.", "ok"]
    print("\n".join(lines[:-1]))
    return 0 if lines[-1] == "ok" else 1


def _schema_sale(_args: argparse.Namespace) -> int:
    print(json.dumps(Sale.model_json_schema(), indent=2))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    db = open_database(settings, args.data_dir)
    try:
        revision = schema.current_revision(db.write_engine)
    finally:
        db.close()
    where = database_url(data_dir(args.data_dir), settings.database.url).split("@")[-1]
    print(f"Database {where} is at revision {revision}.")
    return 0


def _secrets_set(args: argparse.Namespace) -> int:
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


def _secrets_list(_args: argparse.Namespace) -> int:
    for owner, fields in secret_owners().items():
        names = ", ".join(f.name if f.required else f"{f.name} (optional)" for f in fields)
        print(f"{owner}: {names}")
    return 0


def _secrets_check(_args: argparse.Namespace) -> int:
    problem = keyring_problem()
    if problem:
        print(f"receiptdesk: {problem}", file=sys.stderr)
        return 1
    print("The keyring can store secrets on this machine.")
    return 0


# -- captures -----------------------------------------------------------------------------------


def _capture_service(runtime: Runtime) -> CaptureService:
    if runtime.capture is None:
        raise ConfigurationError("Print-stream capture is not set up on this terminal ([capture] in the settings).")
    return runtime.capture


def _captures_list(args: argparse.Namespace) -> int:
    state = CaptureState(args.state) if args.state else None
    rows = _with_runtime(args, lambda rt: _capture_service(rt).list_captures(state, args.limit))
    for r in rows:
        print(
            f"{r.captured_at.astimezone():%Y-%m-%d %H:%M:%S}  {r.id[:8]}  {r.state.value:<8}  "
            f"{r.sale_id or '-':<20}  {r.reason or ''}"
        )
    if not rows:
        print("No captures.")
    return 0


def _captures_show(args: argparse.Namespace) -> int:
    r = _with_runtime(args, lambda rt: _capture_service(rt).show(args.capture_id))
    print(f"Capture {r.id}  {r.state.value}  from {r.source}  at {r.captured_at.astimezone():%Y-%m-%d %H:%M:%S}")
    if r.sale_id:
        print(f"Sale {r.sale_id}" + (f"  receipt {r.receipt_id}" if r.receipt_id else ""))
    if r.reason:
        print(f"Reason: {r.reason}")
    print()
    print(r.text)
    return 0


def _captures_release(args: argparse.Namespace) -> int:
    outcome = _with_runtime(args, lambda rt: _capture_service(rt).release(args.capture_id, actor="cli"))
    r = outcome.capture
    detail = f": receipt {r.receipt_id}" if r.receipt_id else f" ({r.reason})"
    print(f"Capture {r.id[:8]} is {r.state.value}{detail}")
    return 0 if r.state is CaptureState.SENT else 1


def _captures_discard(args: argparse.Namespace) -> int:
    _with_runtime(args, lambda rt: _capture_service(rt).discard(args.capture_id, actor="cli"))
    print("Discarded.")
    return 0


_COMMANDS: dict[tuple[str | None, str | None], Callable[[argparse.Namespace], int]] = {
    ("captures", "list"): _captures_list,
    ("captures", "show"): _captures_show,
    ("captures", "release"): _captures_release,
    ("captures", "discard"): _captures_discard,
    ("serve", None): _serve,
    ("demo", None): _demo,
    ("receipts", "list"): _receipts_list,
    ("receipts", "show"): _receipts_show,
    ("receipts", "resend"): _receipts_resend,
    ("queue", "status"): _queue_status,
    ("queue", "retry"): _queue_retry,
    ("health", None): _health,
    ("doctor", None): _doctor,
    ("audit", "verify"): _audit_verify,
    ("sandbox", None): _sandbox,
    ("sandbox", "fire"): _sandbox_fire,
    ("sync", None): _sync,
    ("schema", "sale"): _schema_sale,
    ("db", "upgrade"): _db_upgrade,
    ("secrets", "set"): _secrets_set,
    ("secrets", "list"): _secrets_list,
    ("secrets", "check"): _secrets_check,
}
