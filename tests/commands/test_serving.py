"""`serve` runs on uvloop's event loop where uvloop is installed, and on asyncio's otherwise or when told to."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from app.commands.serving import LOOP_VARIABLE, run_event_loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_serve_runs_on_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOP_VARIABLE, raising=False)
    expected = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    assert run_event_loop(_loop_module()).split(".")[0] == expected


def test_serve_runs_on_asyncios_loop_when_told_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_VARIABLE, "asyncio")
    assert run_event_loop(_loop_module()).startswith("asyncio")
