"""What of ReceiptDesk a freezer compiles (code) and what it copies as files (package data).

Shared by `receiptdesk.spec` and `build_deb.py`, so both draw the line in the same place:
templates, resources and Alembic's migrations (its env.py and revisions are Python that Alembic
loads from files) are package data, copied as they are; every other module of `app` is code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

MIGRATIONS_PACKAGE = "app.storage.migrations"
_MIGRATIONS = PurePosixPath(*MIGRATIONS_PACKAGE.split("."))


def hidden_app_modules(names: Iterable[str]) -> list[str]:
    """The modules of `app` to freeze: all but the migrations' files (Alembic loads those from disk)."""
    return sorted(n for n in names if not n.startswith(MIGRATIONS_PACKAGE + "."))


def is_package_data(relative: PurePosixPath) -> bool:
    """Whether `relative` (a path under site-packages, e.g. app/templates/receipt.html) is shipped as a file."""
    if relative.suffix in {".pyc", ".pyo"} or "__pycache__" in relative.parts:
        return False
    if relative.suffix != ".py":
        return True
    return relative.parts[: len(_MIGRATIONS.parts)] == _MIGRATIONS.parts


def app_files(site: Path) -> list[PurePosixPath]:
    """Every file of the installed `app` package under `site`, as paths relative to `site`."""
    root = site / "app"
    return sorted(
        PurePosixPath(p.relative_to(site).as_posix())
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def code_digest(site: Path) -> str:
    """A hash of the code the freezer compiles: each module's path and bytes (package data left out)."""
    digest = hashlib.sha256()
    for relative in app_files(site):
        if relative.suffix == ".py" and not is_package_data(relative):
            digest.update(str(relative).encode() + b"\0" + (site / relative).read_bytes() + b"\0")
    return digest.hexdigest()
