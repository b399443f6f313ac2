"""The Debian package, as a store's IT person meets it: built, installed, run, upgraded, purged.

`packaging/build_deb.py` builds two packages: this tree (version +pkgtest1), and a copy of it with
one more Alembic migration (+pkgtest2). The frozen part of the bundle (Python and the libraries) is
kept between runs, keyed on the build environment, the spec and the modules the app imports; the
app's own files are laid from each build's wheel. So the second package and later runs (after any
change to the app that imports nothing new) take seconds to build; a cold build (a new build
environment and a new freeze) takes one and a half to two and a half minutes on two cores.

The tests run in order and share one installation: install, run the binary, run the service's own
command line as its user with its settings and secrets, verify the unit, upgrade with data kept,
purge. They install a system package, so they need root and dpkg; they refuse to touch a
ReceiptDesk package that they did not install themselves.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import random
import re
import shlex
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import __version__
from app.sandbox.pos import make_sale

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build_deb.py"
UNIT = Path("/usr/lib/systemd/system/receiptdesk.service")
SETTINGS = Path("/etc/receiptdesk/receiptdesk.toml")
SECRETS = Path("/etc/receiptdesk/secrets.env")
STATE = Path("/var/lib/receiptdesk")
MARK = "pkgtest"
"""Versions this test builds carry it; a receiptdesk package without it is a real installation."""

PROBE_REVISION = "pkgtest_probe"
TREE_SKIPPED = {".git", ".venv", "build", "dist", "screenshots", ".mypy_cache", ".ruff_cache", ".hypothesis"}

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb is built and tested on Linux"),
]


def _why_not_here() -> str | None:
    for tool in ("dpkg", "dpkg-deb", "dpkg-query"):
        if not shutil.which(tool):
            return f"needs {tool} (a Debian or Ubuntu machine)"
    if os.geteuid() != 0:
        return "installs a system package: run as root (CI does)"
    installed = _installed_version()
    if installed and MARK not in installed:
        return f"receiptdesk {installed} is installed on this machine; the test will not replace it"
    return None


def _installed_version() -> str | None:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status} ${Version}", "receiptdesk"], capture_output=True, text=True, check=False
    ).stdout
    return out.split()[-1] if out.startswith("install ok installed") else None


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{shlex.join(command)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _head_revision(versions: Path) -> str:
    """The revision no other revision names as its parent."""
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.update(re.findall(r'^revision\s*=\s*"([^"]+)"', text, re.MULTILINE))
        parents.update(re.findall(r'^down_revision\s*=\s*"([^"]+)"', text, re.MULTILINE))
    (head,) = revisions - parents
    return head


def _tree_with_a_new_migration(into: Path) -> Path:
    """A copy of this tree with one more (empty) Alembic revision: the next release, as far as the data goes."""
    tree = into / "next-release"
    shutil.copytree(ROOT, tree, ignore=lambda _d, names: [n for n in names if n in TREE_SKIPPED or n == "__pycache__"])
    versions = tree / "app" / "storage" / "migrations" / "versions"
    (versions / "9999_pkgtest_probe.py").write_text(
        f'"""An empty revision: the upgrade test\'s next release.\n\nRevision ID: {PROBE_REVISION}\n"""\n\n'
        f'revision = "{PROBE_REVISION}"\ndown_revision = "{_head_revision(versions)}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )
    return tree


@dataclass
class Packages:
    first: Path
    second: Path
    timings: dict[str, float] = field(default_factory=dict)
    receipt_id: str = ""
    port: int = 0
    auth: dict[str, str] = field(default_factory=dict)


def _build(source: Path, version: str, output: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    result = _run([sys.executable, str(BUILD), "--source", str(source), "--version", version, "--output", str(output)])
    elapsed = time.perf_counter() - started
    print(result.stdout.strip().splitlines()[-1])
    (deb,) = output.glob(f"receiptdesk_{version}_*.deb")
    return deb, elapsed


def _purge() -> None:
    if _installed_version() is not None or Path("/var/lib/dpkg/info/receiptdesk.list").exists():
        subprocess.run(["dpkg", "--purge", "receiptdesk"], capture_output=True, check=False)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packages]:
    reason = _why_not_here()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("debs")
    first, first_s = _build(ROOT, f"{__version__}+{MARK}1", out)
    next_release = _tree_with_a_new_migration(tmp_path_factory.mktemp("tree"))
    second, second_s = _build(next_release, f"{__version__}+{MARK}2", out)
    built = Packages(first, second, {"build_first_s": first_s, "build_second_s": second_s})
    _purge()  # what an earlier, interrupted run of this test left
    yield built
    _purge()
    print("package test timings:", json.dumps({k: round(v, 2) for k, v in built.timings.items()}))


def test_the_package_installs_the_program_the_service_user_and_its_folders(packages: Packages) -> None:
    size_mb = packages.first.stat().st_size / 1e6
    assert size_mb < 150, f"the package grew to {size_mb:.0f} MB"
    started = time.perf_counter()
    _run(["dpkg", "-i", str(packages.first)])
    packages.timings["install_s"] = time.perf_counter() - started
    print(f"package {size_mb:.1f} MB, installed in {packages.timings['install_s']:.1f} s")

    assert Path("/usr/bin/receiptdesk").resolve() == Path("/opt/receiptdesk/receiptdesk")
    user = pwd.getpwnam("receiptdesk")
    assert user.pw_uid < 1000, "a system user"
    assert user.pw_dir == str(STATE)
    assert user.pw_shell.endswith("nologin")
    assert grp.getgrgid(user.pw_gid).gr_name == "receiptdesk"
    for folder in (STATE, Path("/var/log/receiptdesk")):
        info = folder.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user.pw_uid, 0o750)
    secrets = SECRETS.stat()
    assert (secrets.st_uid, stat.S_IMODE(secrets.st_mode)) == (0, 0o600), "secrets are root's alone"
    assert "/etc/receiptdesk/receiptdesk.toml" in Path("/var/lib/dpkg/info/receiptdesk.conffiles").read_text()
    assert UNIT.is_file()
    assert Path("/usr/share/icons/hicolor/scalable/apps/receiptdesk.svg").is_file()
    assert Path("/usr/share/icons/hicolor/256x256/apps/receiptdesk.png").is_file()
    assert Path("/usr/share/receiptdesk/receiptdesk-kiosk-autostart.desktop").is_file()
    assert not Path("/etc/xdg/autostart/receiptdesk-kiosk.desktop").exists(), "autostart is the IT person's choice"
    launcher = Path("/usr/share/applications/receiptdesk.desktop")
    assert "Icon=receiptdesk" in launcher.read_text()
    if shutil.which("desktop-file-validate"):
        _run(["desktop-file-validate", str(launcher)])
        _run(["desktop-file-validate", "/usr/share/receiptdesk/receiptdesk-kiosk-autostart.desktop"])
    else:
        print("desktop-file-validate not installed (desktop-file-utils): the launchers were not validated")


def test_the_installed_program_runs_from_anywhere(packages: Packages, tmp_path: Path) -> None:
    started = time.perf_counter()
    version = _run(["receiptdesk", "--version"], cwd=tmp_path)
    packages.timings["version_s"] = time.perf_counter() - started
    assert version.stdout.strip() == f"receiptdesk {__version__}"

    started = time.perf_counter()
    demo = _run(
        ["receiptdesk", "--data-dir", str(tmp_path / "demo"), "demo", "--headless", "--sales", "20", "--json"],
        cwd=tmp_path,
        timeout=300,
    )
    packages.timings["demo_s"] = time.perf_counter() - started
    figures = json.loads(demo.stdout[demo.stdout.index("{") :])
    assert figures["receipts_created"] == figures["sales"] == 31  # 20, the 10 warm-up sales and the store app's
    assert figures["pos_errors"] == []
    assert set(figures["deliveries_by_state"]) == {"sent"}


def test_the_installed_kiosk_opens_its_windows_and_takes_sales(packages: Packages, tmp_path: Path) -> None:
    """The bundle carries Qt: the kiosk demo (offscreen) runs and its simulated POS's sales are stored."""
    data = tmp_path / "kiosk"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    kiosk = subprocess.Popen(
        ["receiptdesk", "--data-dir", str(data), "demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    receipts = 0
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and kiosk.poll() is None and not receipts:
            time.sleep(0.5)
            read_only = f"file:{data / 'receiptdesk.db'}?mode=ro"  # never creates the file
            with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(read_only, uri=True)) as db:
                receipts = db.execute("SELECT count(*) FROM receipts").fetchone()[0]
    finally:
        kiosk.kill()
        _, errors = kiosk.communicate(timeout=30)
    assert receipts, f"the kiosk stored no sale (exit {kiosk.returncode}):\n{errors[-2000:]}"
    packages.timings["kiosk_first_sale_s"] = time.perf_counter() - started
    assert "Traceback" not in errors


def test_the_service_unit_passes_systemd_analyze_verify(packages: Packages) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed here: the unit was not verified")
    _run(["systemd-analyze", "verify", str(UNIT)])
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)], capture_output=True, text=True, check=False
    )
    if security.returncode == 0 and "Overall exposure level" in security.stdout:
        level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        assert level and float(level.group(1)) <= 2.0, security.stdout[-400:]
        print(security.stdout.strip().splitlines()[-1])
    else:
        print("systemd-analyze security --offline is not supported here: exposure not scored")


def _unit_command() -> tuple[list[str], dict[str, str], str]:
    """ExecStart, the environment and the user, as systemd would give them (it is not PID 1 here)."""
    lines = UNIT.read_text().splitlines()

    def values(key: str) -> list[str]:
        return [line.split("=", 1)[1] for line in lines if line.startswith(f"{key}=")]

    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(STATE)}
    for assignment in values("Environment"):
        name, value = assignment.split("=", 1)
        env[name] = value
    for file in values("EnvironmentFile"):
        for line in Path(file.lstrip("-")).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, value = line.split("=", 1)
                env[name.strip()] = value.strip()
    (user,) = values("User")
    (command,) = values("ExecStart")
    return shlex.split(command), env, user


def _configure_the_site(port: int) -> None:
    """What the IT person does after installing: the store, the providers, their secrets."""
    text = SETTINGS.read_text()
    store = 'name = "Package Test Market"\naddress = "1 Test Road, Springfield"\nphone = "555-0100"\n'
    text = text.replace("[store]\n", "[store]\n" + store, 1)
    text = re.sub(r"^port = \d+$", f"port = {port}", text, count=1, flags=re.MULTILINE)
    text += (
        '\n[providers.sendgrid]\nfrom_email = "receipts@example.com"\nbase_url = "http://127.0.0.1:9"\n'
        '[providers.twilio]\naccount_sid = "AC00000000000000000000000000000000"\nfrom_number = "+12175550199"\n'
        'base_url = "http://127.0.0.1:9"\n'
    )
    SETTINGS.write_text(text)
    with SECRETS.open("a") as secrets:
        secrets.write("RECEIPTDESK_SENDGRID_API_KEY=SG.package-test\nRECEIPTDESK_TWILIO_AUTH_TOKEN=package-test\n")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]


def _serve_as_the_service() -> Served:
    command, env, user = _unit_command()
    process = subprocess.Popen(
        command,
        env=env,
        user=user,
        group=user,
        extra_groups=[],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving on" not in line:
        process.kill()
        raise AssertionError(f"serve did not start: {line}{process.communicate(timeout=30)[1]}")
    return Served(line.split("serving on ", 1)[1].split()[0], process)


def _api_token() -> dict[str, str]:
    """The header of a till's API token, made as the service's user with the service's settings and data."""
    command, env, user = _unit_command()
    assert command[-1] == "serve", command
    tokens = [*command[:-1], "tokens", "create", "till-1", "--scope", "sales:write", "--scope", "receipts:read"]
    made = subprocess.run(
        tokens, env=env, user=user, group=user, extra_groups=[], cwd="/", capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.splitlines()[-1]}"}


def _stop(served: Served) -> None:
    served.process.terminate()
    served.process.communicate(timeout=30)
    assert served.process.returncode == 0, f"serve exited {served.process.returncode} on SIGTERM"


def test_the_service_command_takes_a_sale_as_its_own_user(packages: Packages) -> None:
    packages.port = _free_port()
    _configure_the_site(packages.port)
    packages.auth = _api_token()
    started = time.perf_counter()
    served = _serve_as_the_service()
    packages.timings["serve_start_s"] = time.perf_counter() - started
    try:
        sale = make_sale(random.Random(11), sale_id="PKG-0001", lane="1")
        answer = httpx.post(f"{served.url}/v1/sales", json=sale, timeout=30, headers=packages.auth)
        assert answer.status_code == 202, answer.text
        packages.receipt_id = answer.json()["receipt_id"]
    finally:
        _stop(served)
    database = STATE / "receiptdesk.db"
    assert database.stat().st_uid == pwd.getpwnam("receiptdesk").pw_uid


def _revision() -> str:
    with sqlite3.connect(STATE / "receiptdesk.db") as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


def test_an_upgrade_with_a_new_migration_keeps_the_receipts_and_the_edited_settings(packages: Packages) -> None:
    assert packages.receipt_id, "the service test put a receipt in before the upgrade"
    edited = SETTINGS.read_text()
    before = _revision()
    started = time.perf_counter()
    _run(["dpkg", "-i", str(packages.second)])
    packages.timings["upgrade_s"] = time.perf_counter() - started
    assert _installed_version() == f"{__version__}+{MARK}2"
    assert SETTINGS.read_text() == edited, "dpkg kept the edited conffile"
    assert "RECEIPTDESK_TWILIO_AUTH_TOKEN=package-test" in SECRETS.read_text()

    served = _serve_as_the_service()  # the service restarted on the new release migrates its database
    try:
        answer = httpx.get(f"{served.url}/v1/receipts/{packages.receipt_id}", timeout=30, headers=packages.auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["sale_id"] == "PKG-0001"
    finally:
        _stop(served)
    assert before != PROBE_REVISION
    assert _revision() == PROBE_REVISION


def test_purge_removes_the_program_its_data_its_settings_and_its_user(packages: Packages) -> None:
    started = time.perf_counter()
    _run(["dpkg", "--purge", "receiptdesk"])
    packages.timings["purge_s"] = time.perf_counter() - started
    assert _installed_version() is None
    for gone in (
        Path("/opt/receiptdesk"),
        Path("/usr/bin/receiptdesk"),
        UNIT,
        STATE,
        Path("/var/log/receiptdesk"),
        Path("/etc/receiptdesk"),
        Path("/usr/share/applications/receiptdesk.desktop"),
    ):
        assert not os.path.lexists(gone), f"{gone} is still there"
    with pytest.raises(KeyError):
        pwd.getpwnam("receiptdesk")
    with pytest.raises(KeyError):
        grp.getgrnam("receiptdesk")
