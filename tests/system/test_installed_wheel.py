"""ReceiptDesk as a store installs it: the wheel, in a fresh virtual environment outside the source
tree, with the core dependencies only (a hub, or a lane without a screen: no Qt, no PostgreSQL
driver), run from a folder that holds nothing of ReceiptDesk.

The wheel is built from a copy of the project's files, installed with the versions `constraints.txt`
pins (as `make` installs them), so pip's cache makes it a matter of seconds after the first run on a
machine. Then the headless demo renders and delivers 50 receipts, and `serve` takes a sale from a
POS and delivers its receipt to the provider sandbox, both from the installed files alone.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.sandbox import credentials
from app.sandbox.pos import make_sale

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "app", "templates", "resources")
"""What the wheel is built from: the project's own files, none of the clone's caches or builds."""

PACKAGE_DATA = {"templates": "app/templates", "resources": "app/resources", "app/storage/migrations": None}
"""Folders of the clone and where the wheel holds them (None: the same path)."""

SENT = {"sent", "delivered"}

NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")

pytestmark = pytest.mark.timeout(900)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    elsewhere: Path
    """The working folder of every command: nothing of ReceiptDesk is in it."""
    home: Path

    def bin(self, name: str) -> str:
        return str(self.venv / ("Scripts" if os.name == "nt" else "bin") / name)

    def env(self) -> dict[str, str]:
        """The environment of a store's machine: no source tree on the path, its own config and state folders."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        folders = {f"XDG_{kind}_HOME": str(self.home / kind.lower()) for kind in ("CONFIG", "DATA", "STATE", "CACHE")}
        return {
            **env,
            **folders,
            "PYTHONUNBUFFERED": "1",
            "RECEIPTDESK_TWILIO_AUTH_TOKEN": credentials.TWILIO_AUTH_TOKEN,
            "RECEIPTDESK_SENDGRID_API_KEY": credentials.SENDGRID_API_KEY,
        }

    def run(self, *args: str, program: str = "receiptdesk", timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.bin(program), *args],
            cwd=self.elsewhere, env=self.env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def start(self, *args: str, timeout: float = 60) -> tuple[subprocess.Popen[str], str]:
        """Start `receiptdesk ARGS`; return the process and the URL it printed once listening."""
        proc = subprocess.Popen(
            [self.bin("receiptdesk"), *args],
            cwd=self.elsewhere, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "http://" in line:
                return proc, next(word for word in line.split() if word.startswith("http://"))
            if not line and proc.poll() is not None:
                raise AssertionError(
                    f"receiptdesk {' '.join(args)} exited: {proc.stderr.read() if proc.stderr else ''}"
                )
        proc.kill()
        raise AssertionError(f"receiptdesk {' '.join(args)} did not start listening in time")


def _pip(*args: str) -> None:
    """The project's pip (the target environment needs none of its own), quietly; its output on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    assert ROOT not in base.parents, "the installation must live outside the source tree"
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=NOT_SOURCES)
        else:
            shutil.copy2(ROOT / name, source / name)
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(base / "dist"), str(source))
    (wheel,) = (base / "dist").glob("receiptdesk-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _pip("--python", str(python), "install", "--quiet", "--constraint", str(ROOT / "constraints.txt"), str(wheel))
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel=wheel, venv=venv, elsewhere=elsewhere, home=base / "home")


def _shipped_files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".") and p.suffix != ".pyc"
    }


def test_the_wheel_holds_the_templates_resources_and_migrations(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert all(n.startswith(("app/", "receiptdesk-")) for n in names), "only the app package and its metadata"
    for folder, packaged in PACKAGE_DATA.items():
        expected = _shipped_files(ROOT / folder)
        assert expected, folder
        missing = {f for f in expected if f"{packaged or folder}/{f}" not in names}
        assert not missing, f"{folder}: not in the wheel (add the file type to package-data): {sorted(missing)}"
    assert {"app/resources/receiptdesk.svg", "app/resources/receiptdesk.png", "app/resources/receiptdesk.ico"} <= names


def test_the_core_install_has_no_qt_and_no_postgresql_driver(installed: Installed) -> None:
    probe = "import importlib.util as u; print([m for m in ('PySide6', 'qasync', 'psycopg') if u.find_spec(m)])"
    result = installed.run("-c", probe, program="python")
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
    version = installed.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("receiptdesk "), version.stderr


def test_the_headless_demo_renders_and_delivers_from_the_installed_wheel(installed: Installed) -> None:
    data = installed.elsewhere / "demo-data"
    result = installed.run("--data-dir", str(data), "demo", "--headless", "--sales", "50", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    figures = json.loads(result.stdout)
    assert figures["pos_errors"] == []
    assert figures["receipts_created"] == figures["sales"] >= 50
    assert figures["messages_at_sandbox"] > 0
    # the store app's push went through the sandbox child's Google token endpoint, signed with our key
    assert figures["store_app"]["push_at_sandbox_fcm"] == 1
    assert set(figures["deliveries_by_state"]) == {"sent"}
    assert set(figures["deliveries_by_state"]) <= {"sent", "delivered"}


def test_the_kiosk_without_its_extra_says_how_to_install_it(installed: Installed) -> None:
    result = installed.run("--data-dir", str(installed.elsewhere / "kiosk-data"), "demo")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pip install 'receiptdesk[kiosk]'" in result.stderr and "--headless" in result.stderr


@pytest.fixture
def sandbox(installed: Installed) -> Iterator[str]:
    proc, url = installed.start("sandbox", "--port", "0")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def test_serve_takes_a_sale_and_delivers_its_receipt(installed: Installed, sandbox: str) -> None:
    settings = installed.elsewhere / "hub.toml"
    settings.write_text(
        f"""
[store]
name = "Corner Grocer"
address = "2 Elm Street, Springfield, IL"
phone = "(217) 555-0199"

[api]
port = 0

[routing]
email = "sendgrid"
sms = "twilio"

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox}"

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox}"
""",
        encoding="utf-8",
    )
    hub = ("--config", str(settings), "--data-dir", str(installed.elsewhere / "hub"))
    made = installed.run(*hub, "tokens", "create", "till-1", "--scope", "sales:write", "--scope", "receipts:read")
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.splitlines()[-1]}"}
    server, api = installed.start(*hub, "serve")
    try:
        sale = make_sale(random.Random(11), sale_id="W-1", with_customer=False)
        sale["customer"] = {"email": "ana@example.com", "channels": ["email"]}
        accepted = httpx.post(f"{api}/v1/sales", json=sale, timeout=30, headers=auth)
        assert accepted.status_code == 202, accepted.text
        receipt = f"{api}/v1/receipts/{accepted.json()['receipt_id']}"

        def delivery_states() -> list[str]:
            return [d["state"] for d in httpx.get(receipt, timeout=30, headers=auth).json()["deliveries"]]

        deadline = time.monotonic() + 60
        while not (states := delivery_states()) or not set(states) <= SENT:
            assert time.monotonic() < deadline and not {"failed", "dead"} & set(states), states
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(15)
    assert server.returncode == 0
    assert server.stderr is not None and "Traceback" not in server.stderr.read()
