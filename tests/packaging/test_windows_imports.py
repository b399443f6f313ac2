"""Every module of the app loads on Windows: no POSIX-only module is imported at module level."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSIX_ONLY = {"resource", "fcntl", "pwd", "grp", "termios", "tty", "pty", "syslog", "crypt", "spwd", "posix"}


def module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports run when the module loads: top level, and inside top-level `try`, `with` and plain `if`
    blocks, but not under an `if` that tests `sys.platform` or `os.name` (a guarded import)."""
    found: list[tuple[int, str]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.lineno, node.module.split(".")[0]))
            elif isinstance(node, ast.If):
                if "platform" in ast.unparse(node.test) or "os.name" in ast.unparse(node.test):
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def test_the_scan_sees_top_level_imports_and_lets_guarded_or_local_ones_be() -> None:
    source = (
        "import os, resource\n"
        "from fcntl import flock\n"
        "if sys.platform != 'win32':\n    import termios\n"
        "try:\n    import pwd\nexcept ImportError:\n    pwd = None\n"
        "def peak():\n    import resource\n"
    )
    names = [name for _, name in module_level_imports(ast.parse(source))]
    assert names == ["os", "resource", "fcntl", "pwd"]


def test_no_app_module_imports_a_posix_only_module_when_it_loads() -> None:
    offenders = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for line, name in module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name in POSIX_ONLY:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offenders == []


def test_the_headless_demo_loads_where_resource_does_not_exist() -> None:
    """As on Windows: `import resource` fails, and the demo module (and the CLI's demo path) still load."""
    code = (
        "import sys\n"
        "sys.modules['resource'] = None\n"  # the libraries' own POSIX branches still need fcntl here
        "import app.demo.headless as demo\n"
        "print(demo._mb(None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "not measured on this platform"
