"""The kiosk's first window loads only what it uses: what the start imports, read in a fresh interpreter.

The web framework and the local API, the demo's sandbox, Alembic (a database at the newest schema
needs none) and the manager's, settings and set-up windows load after the first window, when used;
PostgreSQL's dialect only where the database is PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.system import processes
from tests.system.test_command_imports import loaded

AFTER_THE_FIRST_WINDOW = (
    "fastapi",
    "starlette.applications",
    "uvicorn",
    "alembic",
    "sqlalchemy.dialects.postgresql",  # a SQLite kiosk never needs it
    "app.server",
    "app.sandbox.app",
    "app.sandbox.server",
    "app.ui.manager",
    "app.ui.settings",
    "app.ui.setup",
)

PROBE = (
    "import json, sys\n"
    "import app.ui_launch, app.ui.shell, app.main.runtime, app.demo.kiosk\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_the_kiosk_start_loads_no_web_server_nor_the_windows_it_does_not_open_first() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=processes.ROOT,
        env=processes.env(QT_QPA_PLATFORM="offscreen"),
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "app.ui.cashier.window" in modules
    assert loaded(modules, AFTER_THE_FIRST_WINDOW) == []
