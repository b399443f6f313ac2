"""What can be checked of the Windows build without Windows: the spec, the installer script, the service.

packaging/windows/README.md lists what only Windows can test.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any

import pytest

from app.config.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
WINDOWS = PACKAGING / "windows"
ISS = WINDOWS / "receiptdesk.iss"
SERVICE_XML = WINDOWS / "receiptdesk-service.xml"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorded:
    """Stands for PyInstaller's Analysis, PYZ, EXE and COLLECT: keeps what the spec gave it."""

    made: list[Recorded]

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        self.scripts = self.binaries = self.datas = self.pure = ()


def run_spec(platform: str, monkeypatch: pytest.MonkeyPatch) -> list[Recorded]:
    """Execute packaging/receiptdesk.spec as PyInstaller would on `platform`, with PyInstaller stubbed."""
    made: list[Recorded] = []
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    found = {"app": ["app", "app.cli", "app.storage.migrations", "app.storage.migrations.env"]}
    hooks.collect_submodules = lambda package, **_: found.get(package, [package])  # type: ignore[attr-defined]
    hooks.collect_data_files = lambda package, **_: [(f"{package}/data.txt", package)]  # type: ignore[attr-defined]
    hooks.copy_metadata = lambda name: [(f"{name}.dist-info", f"{name}.dist-info")]  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "path", list(sys.path))

    def factory(kind: str) -> Any:
        def make(*args: Any, **kwargs: Any) -> Recorded:
            made.append(Recorded(kind, *args, **kwargs))
            return made[-1]

        return make

    namespace = {kind: factory(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT")}
    namespace["SPECPATH"] = str(PACKAGING)
    source = (PACKAGING / "receiptdesk.spec").read_text(encoding="utf-8")
    exec(compile(source, "receiptdesk.spec", "exec"), namespace)  # noqa: S102 (as PyInstaller runs a spec)
    return made


def test_the_spec_makes_one_console_program_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    made = run_spec("linux", monkeypatch)
    programs = [m for m in made if m.kind == "EXE"]
    assert [(p.kwargs["name"], p.kwargs["console"]) for p in programs] == [("receiptdesk", True)]
    (analysis,) = [m for m in made if m.kind == "Analysis"]
    hidden = analysis.kwargs["hiddenimports"]
    assert "app.cli" in hidden
    assert "app.storage.migrations.env" not in hidden, "migrations are data, not code"
    assert "uvicorn" in analysis.kwargs["hiddenimports"]
    assert Path(analysis.args[0][0]) == PACKAGING / "freeze_entry.py"


def test_the_same_spec_adds_a_windowed_kiosk_program_with_the_icon_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    made = run_spec("win32", monkeypatch)
    programs = {m.kwargs["name"]: m.kwargs for m in made if m.kind == "EXE"}
    assert programs["receiptdesk"]["console"] is True
    assert programs["receiptdesk-kiosk"]["console"] is False
    for program in programs.values():
        assert Path(program["icon"]).is_file()
    (collected,) = [m for m in made if m.kind == "COLLECT"]
    assert collected.kwargs["name"] == "receiptdesk"


def iss_defines(text: str) -> dict[str, str]:
    return dict(re.findall(r'^#define (\w+) "([^"]*)"', text, re.MULTILINE))


def expand(value: str, defines: dict[str, str]) -> str:
    return re.sub(r"\{#(\w+)\}", lambda m: defines[m.group(1)], value)


def iss_entries(text: str, section: str) -> list[dict[str, str]]:
    """The `Key: value; Key: "value"` entries of one [Section]."""
    body = text.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0]
    entries = []
    for line in body.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        parts = re.findall(r'(\w+):\s*("(?:[^"]|"")*"|[^;]*)', line)
        entries.append({key: value.strip().strip('"').replace('""', '"') for key, value in parts})
    return entries


def from_iss(path: str) -> Path:
    """A path of the .iss (relative to it, with backslashes) as a path of this tree."""
    return (ISS.parent / PurePosixPath(*PureWindowsPath(path).parts)).resolve()


def test_every_file_the_installer_takes_is_in_the_tree_or_made_by_the_build() -> None:
    text = ISS.read_text(encoding="utf-8")
    defines = iss_defines(text)
    build_script = (WINDOWS / "build.ps1").read_text(encoding="utf-8")
    made_by_build = {
        from_iss(defines["Bundle"]): "the spec's COLLECT name under dist",
        from_iss(defines["WinSW"]): "build.ps1 downloads it",
    }
    assert from_iss(defines["Bundle"]) == ROOT / "dist" / "receiptdesk"
    assert 'Join-Path $Root "build\\winsw\\WinSW-x64.exe"' in build_script
    assert from_iss(defines["WinSW"]) == ROOT / "build" / "winsw" / "WinSW-x64.exe"
    sources = [expand(entry["Source"], defines) for entry in iss_entries(text, "Files")]
    assert len(sources) == 4
    for source in sources:
        path = from_iss(source.removesuffix("\\*"))
        assert path in made_by_build or path.is_file(), f"{source} is neither in the tree nor made by the build"
    icon = re.search(r"^SetupIconFile=(.+)$", text, re.MULTILINE)
    assert icon and from_iss(icon.group(1)).is_file()


def test_the_shortcuts_and_the_service_name_the_programs_the_build_makes() -> None:
    text = ISS.read_text(encoding="utf-8")
    icons = iss_entries(text, "Icons")
    assert {e["Filename"] for e in icons} == {"{app}\\receiptdesk-kiosk.exe"}
    startup = [e for e in icons if e["Name"].startswith("{commonstartup}")]
    assert startup and startup[0]["Tasks"] == "autostart", "autostart is a choice at install"
    files = iss_entries(text, "Files")
    wrapper = next(e for e in files if e.get("DestName"))
    assert (wrapper["DestDir"], wrapper["DestName"]) == ("{app}\\service", "receiptdesk-service.exe")
    xml = next(e for e in files if e["Source"].endswith(".xml"))
    assert xml["DestDir"] == "{app}\\service" and Path(xml["Source"]).stem == "receiptdesk-service", (
        "WinSW reads the .xml named as itself, beside it"
    )
    runs = iss_entries(text, "Run")
    install = next(e for e in runs if e.get("Parameters") == "install")
    assert install["Filename"] == "{app}\\service\\receiptdesk-service.exe" and install["Tasks"] == "service"
    assert not any(e.get("Parameters") == "start" for e in runs), "serve refuses to start before the store is set"


def test_the_secrets_folder_is_locked_to_administrators_system_and_the_service_account() -> None:
    text = ISS.read_text(encoding="utf-8")
    defines = iss_defines(text)
    runs = [expand(e["Parameters"], defines) for e in iss_entries(text, "Run") if "icacls" in e["Filename"]]
    secrets = next(p for p in runs if "\\secrets" in p)
    assert "/inheritance:r" in secrets
    grants = re.findall(r"(\*S-[\d-]+):\(OI\)\(CI\)(\w+)", secrets)
    assert grants == [("*S-1-5-32-544", "F"), ("*S-1-5-18", "F"), ("*S-1-5-19", "RX")]


def service_config() -> ET.Element:
    return ET.parse(SERVICE_XML).getroot()  # noqa: S314 (our own file)


def test_the_service_runs_serve_as_local_service_with_the_installers_folders(tmp_path: Path) -> None:
    service = service_config()
    assert service.findtext("id") == "receiptdesk"
    assert service.findtext("executable") == "%BASE%\\..\\receiptdesk.exe"
    account = service.find("serviceaccount")
    assert account is not None
    assert (account.findtext("domain"), account.findtext("user")) == ("NT AUTHORITY", "LocalService")
    env = {e.get("name"): e.get("value") for e in service.findall("env")}
    data = iss_defines(ISS.read_text(encoding="utf-8"))["Data"].replace("{commonappdata}", "%ProgramData%")
    assert env["CREDENTIALS_DIRECTORY"] == f"{data}\\secrets"
    assert env["RECEIPTDESK_DATA_DIR"] == f"{data}\\data"
    assert env["RECEIPTDESK_LOG_DIR"] == f"{data}\\logs"

    # The command line is one the CLI takes: the settings and data folders, then `serve`.
    arguments = shlex.split(service.findtext("arguments") or "", posix=True)
    assert arguments[-1] == "serve"
    assert arguments[arguments.index("--config") + 1] == f"{data}\\receiptdesk.toml"
    assert arguments[arguments.index("--data-dir") + 1] == env["RECEIPTDESK_DATA_DIR"]
    settings = tmp_path / "receiptdesk.toml"
    settings.write_text("", encoding="utf-8")
    local = [str(settings) if a.endswith(".toml") else str(tmp_path) if a.startswith("%") else a for a in arguments]
    command = [sys.executable, "-m", "app", *local, "--help"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("example", [WINDOWS / "receiptdesk.toml", PACKAGING / "linux" / "receiptdesk.toml"])
def test_the_shipped_service_settings_load_and_leave_the_store_to_the_it_person(example: Path) -> None:
    settings = load_settings(example, must_exist=True)
    assert settings.store.missing(), "serve must refuse until the store is set up: no demo identity"
    assert settings.api.host == "127.0.0.1"


def test_the_frozen_entry_runs_app_modules_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = load(PACKAGING / "freeze_entry.py")
    ran: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(entry.runpy, "run_module", lambda name, **_: ran.append((name, list(sys.argv))))
    monkeypatch.setattr(sys, "argv", ["receiptdesk", "-m", "app.sandbox.pos_load", "http://x", "--count", "3"])
    assert entry.main() == 0
    assert ran == [("app.sandbox.pos_load", ["receiptdesk", "http://x", "--count", "3"])]

    monkeypatch.setattr(sys, "argv", ["receiptdesk", "-m", "json.tool"])
    with pytest.raises(SystemExit) as refused:  # the command line's own refusal of an unknown option
        entry.main()
    assert refused.value.code != 0
    assert len(ran) == 1


def test_the_freeze_follows_every_app_module_but_alembics_own_files() -> None:
    data = load(PACKAGING / "freeze_data.py")
    names = ["app", "app.storage.migrations", "app.storage.migrations.env", "app.storage.migrations.versions.x"]
    assert data.hidden_app_modules(names) == ["app", "app.storage.migrations"]
    assert data.MODULE_COLLECTION_MODE == {"app": "py"}, "the app is files in the bundle, laid from each wheel"


def test_a_new_import_means_a_new_freeze_and_a_code_change_does_not(tmp_path: Path) -> None:
    data = load(PACKAGING / "freeze_data.py")
    source = (
        "import os.path, httpx\nfrom sqlalchemy import orm\nfrom app.domain import sale\nfrom . import sibling\n"
        "def late():\n    import importlib\n    importlib.import_module('uvicorn.loops.auto')\n"
    )
    assert data.imported_names(source) == {
        "os.path",
        "httpx",
        "sqlalchemy",
        "sqlalchemy.orm",
        "app.domain",
        "app.domain.sale",
        "importlib",
        "uvicorn.loops.auto",
    }
    package = tmp_path / "app"
    package.mkdir()
    module = package / "m.py"
    module.write_text("import httpx\n\ndef f() -> int:\n    return 1\n", encoding="utf-8")
    before = data.import_digest(tmp_path)
    module.write_text("import httpx\nfrom app import other\n\ndef f() -> int:\n    return 2\n", encoding="utf-8")
    assert data.import_digest(tmp_path) == before
    (package / "n.py").write_text("import jinja2.sandbox\n", encoding="utf-8")
    assert data.import_digest(tmp_path) != before
