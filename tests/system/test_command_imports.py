"""Each `receiptdesk` command loads only what it uses: a command that serves nothing, or only reads and
writes records, starts without the web framework, the providers, the platforms, the devices or Qt.

What a command imported is read from `sys.modules` in a fresh interpreter after the command ran,
so nothing here is timed (the start-up times are `benchmarks/bench_cli_start.py`'s figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system import processes

REPORT = (
    "import json, sys\n"
    "from app.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as exit:  # --help\n"
    "    code = exit.code\n"
    "sys.stdout.flush()\n"
    "print('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    "raise SystemExit(code)\n"
)
"""Run the command line in this interpreter, then print every module it imported, on the last line."""

SERVING = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "PySide6",
    "qasync",
    "app.providers",
    "app.triggers",
    "app.server",
    "app.sandbox",
    "app.ui",
    "app.devices",
    "app.main.runtime",
)
"""What only a command that serves, sends or reaches a device needs."""


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `receiptdesk ARGS` in a fresh interpreter: the finished process and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", REPORT, *args],
        capture_output=True,
        text=True,
        cwd=processes.ROOT,
        env=processes.env(),
        timeout=120,
    )
    head, _, modules = done.stdout.rpartition("\nMODULES ")
    assert modules, done.stderr
    return subprocess.CompletedProcess(done.args, done.returncode, head, done.stderr), set(json.loads(modules))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """Those of `modules` that are one of `packages` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_help_and_the_sale_schema_load_no_database_and_nothing_that_serves() -> None:
    helped, modules = imported("--help")
    assert helped.returncode == 0 and "receiptdesk" in helped.stdout
    assert loaded(modules, (*SERVING, "sqlalchemy", "alembic", "pydantic", "app.storage", "app.services")) == []

    schema, modules = imported("schema", "sale")
    assert schema.returncode == 0, schema.stderr
    assert json.loads(schema.stdout)["title"] == "Sale"
    assert loaded(modules, (*SERVING, "sqlalchemy", "alembic", "app.storage", "app.services", "app.main")) == []


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (("managers", "list"), "No managers yet"),
        (("audit", "verify"), "Audit log intact: 0 entries"),
        (("receipts", "list"), "No receipts match."),
    ],
)
def test_commands_over_records_open_the_database_alone(tmp_path: Path, command: tuple[str, ...], says: str) -> None:
    done, modules = imported("--data-dir", str(tmp_path / "data"), *command)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout
    assert "app.storage.database" in modules  # it did open the database, and migrated it
    assert (tmp_path / "data" / "receiptdesk.db").is_file()
    assert loaded(modules, SERVING) == []
    again, modules = imported("--data-dir", str(tmp_path / "data"), *command)
    assert again.returncode == 0, again.stderr
    assert loaded(modules, ("alembic",)) == []  # a database already at the newest schema needs no migrating


def test_commands_over_records_refuse_the_settings_the_whole_runtime_refuses(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[providers.sendgrid]\nfrom_email = "a@b.example"\napi_key = "SG.leaked"\n', encoding="utf-8")
    done, modules = imported("--config", str(config), "--data-dir", str(tmp_path / "data"), "managers", "list")
    assert done.returncode == 1 and "receiptdesk secrets set sendgrid api_key" in done.stderr
    assert "SG.leaked" not in done.stderr + done.stdout and "No managers" not in done.stdout
    assert loaded(modules, ("fastapi", "app.main.runtime", "app.devices", "app.triggers")) == []
