"""Where the files shipped with ReceiptDesk are: templates, migrations, resources.

They are package data, found through `importlib.resources`, so they are wherever the code is: in
`site-packages/app/...` of an installed wheel, inside a frozen bundle, or in a clone's top-level
`templates/` and `resources/` (the editable install maps those folders to `app.templates` and
`app.resources`, as the wheel does; `setup.py` says so once).

Jinja2 and Alembic read folders from the file system, so a package must be a real folder: a wheel
is always unpacked on install, and freezers unpack package data too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

TEMPLATES = "app.templates"
"""Receipt and update templates (the top-level `templates/` folder)."""

RESOURCES = "app.resources"
"""The app icon, the kiosk's style sheet (the top-level `resources/` folder)."""

MIGRATIONS = "app.storage.migrations"
"""Alembic's environment and revisions."""


def package_folder(package: str) -> Path:
    """The folder holding `package`'s files on disk."""
    folder = files(package)
    if not isinstance(folder, Path) or not folder.is_dir():
        raise RuntimeError(f"ReceiptDesk's {package} is not a folder on disk ({folder}): reinstall ReceiptDesk.")
    return folder


def resource_path(name: str) -> Path:
    """The file `name` among the resources."""
    return package_folder(RESOURCES) / name


def read_resource(name: str) -> str:
    """The text of the resource `name` (UTF-8)."""
    return files(RESOURCES).joinpath(name).read_text(encoding="utf-8")
