"""How ReceiptDesk is frozen: the libraries into the bundle's archive, the app itself as plain files.

Shared by `receiptdesk.spec` and `build_deb.py`.

The freezer puts Python, the libraries and their native parts into the bundle. The app's own
package, `app` (code, templates, resources, migrations), goes in as files under `_internal/app/`
(`MODULE_COLLECTION_MODE`), exactly as its wheel installs it, compiled to bytecode beside.
So the bundle's frozen part depends only on the build environment, the spec and which modules
the app imports (`import_digest`): a change to the app's code or data that imports nothing new
is laid into a kept bundle from the new wheel, without freezing again.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

APP = "app"
MIGRATIONS_PACKAGE = "app.storage.migrations"
MODULE_COLLECTION_MODE = {APP: "py"}
"""The app's modules are collected as .py files, not into the archive (PyInstaller's names)."""


def hidden_app_modules(names: Iterable[str]) -> list[str]:
    """The modules of `app` whose imports the freezer follows: all but the migrations' revisions and
    env.py, which Alembic loads from files and which a freezer must not import."""
    return sorted(n for n in names if not n.startswith(MIGRATIONS_PACKAGE + "."))


def app_files(site: Path) -> list[PurePosixPath]:
    """Every file of the installed `app` package under `site` (no bytecode), relative to `site`."""
    root = site / APP
    return sorted(
        PurePosixPath(p.relative_to(site).as_posix())
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )


def imported_names(source: str) -> set[str]:
    """Every module name a module's code names: `import a.b`, `from a import b` (a and a.b), and
    `importlib.import_module("a")` with a literal; relative imports are the app's own."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def import_digest(site: Path) -> str:
    """A hash of every module outside `app` that the app's code names: what the freezer must collect."""
    outside: set[str] = set()
    for relative in app_files(site):
        if relative.suffix == ".py":
            names = imported_names((site / relative).read_text(encoding="utf-8"))
            outside.update(n for n in names if n != APP and not n.startswith(APP + "."))
    return hashlib.sha256("\n".join(sorted(outside)).encode()).hexdigest()
