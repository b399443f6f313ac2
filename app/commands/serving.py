"""`serve` and `demo`: the long-running commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from app.commands.common import hold_data_folder, kiosk_runner, settings_of
from app.config.instance import InstanceLock
from app.config.paths import data_dir, database_url, default_config_file
from app.config.settings import require_store
from app.domain.errors import Unavailable, ValidationFailed
from app.domain.exit_codes import ExitCode
from app.main import build_runtime, settle_heap
from app.main.local_api import start_local_api, transport_for

T = TypeVar("T")
LOOP_VARIABLE = "RECEIPTDESK_LOOP"
"""Set to `asyncio` to serve on asyncio's own event loop even where uvloop is installed."""

# -- serve -------------------------------------------------------------------------------------


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop's event loop where uvloop is installed (an optional dependency: it
    cuts the loop's own share of each request) and `RECEIPTDESK_LOOP` is not `asyncio`; else on asyncio's."""
    if os.environ.get(LOOP_VARIABLE, "").strip().lower() != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")  # by name: type checks pass where it is not installed
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)
    return asyncio.run(main)


def serve(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    hub = bool(getattr(args, "hub", False))
    if not hub:  # a hub sends no receipt of its own unless a store is set up on it
        require_store(settings, args.config or default_config_file())  # no receipt goes out without the store's name
    host = args.host or settings.api.host
    transport = transport_for(settings.api, host, insecure_lan=args.insecure_lan, flag="--insecure-lan")

    async def body() -> None:
        # a hub builds only the providers whose credentials are set, and takes no platform webhooks
        runtime = build_runtime(settings, data=args.data_dir, sending=not hub)
        if hub:
            from datetime import UTC
            from zoneinfo import ZoneInfo

            from app.services.hub import HubService

            zone = ZoneInfo(settings.store.timezone) if settings.store.timezone else UTC  # the store's day
            runtime.hub = HubService(runtime.db, zone=zone)
        try:
            server = await start_local_api(
                runtime, host, settings.api.port if args.port is None else args.port, transport
            )
        except OSError as exc:
            await runtime.close()
            raise Unavailable(f"Cannot listen on port {args.port or settings.api.port}: {exc.strerror}") from None
        runtime.start_dispatching()
        settle_heap()
        where = _shown(runtime.db.url) if hub else data_dir(args.data_dir)
        print(f"ReceiptDesk {'hub ' if hub else ''}serving on {server.url} (database {where})", flush=True)
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

    if hub and not database_url(data_dir(args.data_dir), settings.database.url).startswith("sqlite"):
        run_event_loop(body())  # hub processes share PostgreSQL and keep nothing of their own: no folder to hold
        return 0
    with InstanceLock(data_dir(args.data_dir)):
        run_event_loop(body())
    return 0


def _shown(url: str) -> str:
    """The database URL without its user and password."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url


# -- demo --------------------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    from app.demo import headless as demo

    if args.hub_database is not None and args.lanes is None:
        raise ValidationFailed("--hub-database is the lanes demo's hub: add --headless --lanes 3.")
    if not args.headless:
        if args.lanes is not None:
            raise ValidationFailed("--lanes runs the headless demo: add --headless.")
        run_kiosk = kiosk_runner()
        settings = settings_of(args)
        pace = {} if args.sale_every is None else {"sale_every": args.sale_every}
        with hold_data_folder(args):
            return run_kiosk(settings, args.data_dir, demo=True, **pace)
    if args.lanes is not None:
        return _lanes_demo(args)
    if args.sale_every is not None:
        raise ValidationFailed("--sale-every paces the kiosk demo; the headless demo keeps its own pace.")
    if args.sales is None:
        args.sales = 2000
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
    with hold_data_folder(args):
        figures = asyncio.run(demo.run_headless(options))
    print(json.dumps(figures, indent=2) if args.json else demo.format_report(figures))
    return 0 if not figures["pos_errors"] else 1


def _lanes_demo(args: argparse.Namespace) -> int:
    """`demo --headless --lanes N`: a hub and N lanes as processes, in a temporary folder of their own."""
    from app.demo.lane_options import lanes_options

    options = lanes_options(
        args.lanes,
        sales=args.sales,
        headless=args.headless,
        in_process_sandbox=args.in_process_sandbox,
        sale_every=args.sale_every is not None,
        hub_database=args.hub_database,
    )
    from app.demo import lane_figures, lanes

    if not args.json:
        print(
            f"Starting a hub and {options.lanes} lanes, {options.sales} sales at each; lane 2 loses its hub "
            "for a while...",
            flush=True,
        )
    try:
        figures = asyncio.run(lanes.run_lanes(options))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C or SIGTERM: every process is stopped by now
        print("The lanes demo was stopped; the hub, the lanes and the sandbox have ended.", file=sys.stderr)
        return ExitCode.INTERRUPTED
    print(json.dumps(figures, indent=2) if args.json else lane_figures.format_lanes_report(figures))
    return 0 if lane_figures.consistent(figures) else 1
