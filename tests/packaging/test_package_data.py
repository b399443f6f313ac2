"""Templates, migrations and resources are package data, found through `importlib.resources`.

In a clone the editable install maps the top-level `templates/` and `resources/` folders to
`app.templates` and `app.resources`, as the wheel lays them out (`tests/system/test_installed_wheel.py`
checks the wheel itself). The app icon's PNG and ICO are made from its SVG (`make icons`).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from app.rendering.environment import TEMPLATES_DIR, template_version
from app.storage import schema
from app.support import package_data

ROOT = Path(__file__).resolve().parents[2]


def test_templates_and_resources_are_the_top_level_folders_of_the_clone() -> None:
    assert TEMPLATES_DIR == package_data.package_folder(package_data.TEMPLATES) == ROOT / "templates"
    assert package_data.package_folder(package_data.RESOURCES) == ROOT / "resources"
    assert schema.MIGRATIONS == ROOT / "app" / "storage" / "migrations"
    assert (schema.MIGRATIONS / "env.py").is_file() and any((schema.MIGRATIONS / "versions").glob("0001_*.py"))


def test_the_template_version_counts_templates_only(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, copy)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"compiled")
    (copy / "__init__.py").write_text('"""changed"""\n', encoding="utf-8")
    assert template_version(copy) == template_version(TEMPLATES_DIR)
    (copy / "sms" / "receipt.txt").write_text("changed", encoding="utf-8")
    assert template_version(copy) != template_version(TEMPLATES_DIR)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_app_icon_is_an_svg_a_256_px_png_and_an_ico_of_every_usual_size() -> None:
    svg = ET.fromstring(package_data.resource_path("receiptdesk.svg").read_bytes())  # noqa: S314 - our own file
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 256 256"
    assert _png_size(package_data.resource_path("receiptdesk.png").read_bytes()) == (256, 256)
    ico = package_data.resource_path("receiptdesk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for n in range(count):
        entry = ico[6 + 16 * n : 22 + 16 * n]
        width, height, _colours, _, _planes, bits, length, offset = struct.unpack("<BBBBHHII", entry)
        assert width == height and bits == 32 and offset + length <= len(ico)
        sizes.add(width or 256)
    assert sizes == {16, 24, 32, 48, 64, 128, 256}


def test_the_style_sheet_is_the_resource_with_the_palette_put_in() -> None:
    from app.ui import theme

    source = package_data.read_resource("kiosk.qss")
    assert "$ACCENT" in source
    sheet = theme.style_sheet()
    assert sheet == theme.STYLE_SHEET
    assert "$" not in re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)
    assert f"background: {theme.ACCENT}" in sheet and f"color: {theme.INK}" in sheet


def test_the_app_icon_loads_in_qt(qapp: object) -> None:
    from app.ui import theme

    icon = theme.app_icon()
    assert not icon.isNull() and not icon.pixmap(48, 48).isNull()


def test_the_hub_and_the_headless_demo_import_no_qt() -> None:
    """`serve` and `demo --headless` must run on a core install, which has no Qt."""
    probe = (
        "import sys\n"
        "import app.cli, app.commands, app.demo.headless, app.demo.wiring, app.main\n"
        "import app.server.api, app.sandbox.server\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'shiboken6', 'qasync'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
