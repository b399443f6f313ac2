"""`captures`: receipts read from a legacy POS's print stream."""

from __future__ import annotations

import argparse

from app.commands.common import os_actor, with_runtime
from app.domain.capture import CaptureState
from app.domain.errors import ConfigurationError
from app.main import Runtime
from app.services.capture import CaptureService

# -- captures -----------------------------------------------------------------------------------


def _capture_service(runtime: Runtime) -> CaptureService:
    if runtime.capture is None:
        raise ConfigurationError("Print-stream capture is not set up on this terminal ([capture] in the settings).")
    return runtime.capture


def captures_list(args: argparse.Namespace) -> int:
    state = CaptureState(args.state) if args.state else None
    rows = with_runtime(args, lambda rt: _capture_service(rt).list_captures(state, args.limit))
    for r in rows:
        print(
            f"{r.captured_at.astimezone():%Y-%m-%d %H:%M:%S}  {r.id[:8]}  {r.state.value:<8}  "
            f"{r.sale_id or '-':<20}  {r.reason or ''}"
        )
    if not rows:
        print("No captures.")
    return 0


def captures_show(args: argparse.Namespace) -> int:
    r = with_runtime(args, lambda rt: _capture_service(rt).show(args.capture_id))
    print(f"Capture {r.id}  {r.state.value}  from {r.source}  at {r.captured_at.astimezone():%Y-%m-%d %H:%M:%S}")
    if r.sale_id:
        print(f"Sale {r.sale_id}" + (f"  receipt {r.receipt_id}" if r.receipt_id else ""))
    if r.reason:
        print(f"Reason: {r.reason}")
    print()
    print(r.text)
    return 0


def captures_release(args: argparse.Namespace) -> int:
    outcome = with_runtime(args, lambda rt: _capture_service(rt).release(args.capture_id, actor=os_actor()))
    r = outcome.capture
    detail = f": receipt {r.receipt_id}" if r.receipt_id else f" ({r.reason})"
    print(f"Capture {r.id[:8]} is {r.state.value}{detail}")
    return 0 if r.state is CaptureState.SENT else 1


def captures_discard(args: argparse.Namespace) -> int:
    with_runtime(args, lambda rt: _capture_service(rt).discard(args.capture_id, actor=os_actor()))
    print("Discarded.")
    return 0
