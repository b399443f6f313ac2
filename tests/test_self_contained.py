"""The repository stands on its own: no file names an absolute path of a particular machine.

Whatever a test reads lives under `tests/fixtures/`, and whatever the code cites is public
documentation or `docs/`. A path such as `/home/alice/...` or `C:\\Users\\...` works on one machine only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", ".hypothesis", "build", "dist", "node_modules", "__pycache__"}
SKIPPED_SUFFIXES = {".bin", ".png", ".ico", ".jpg", ".escpos", ".pdf", ".wav", ".ttf", ".woff2", ".deb", ".whl"}

# A root folder of a person's or a build machine's files, followed by a name: /home/x, /Users/x,
# /root/x, /mnt/x, C:\Users\x, or a build machine's work folder. Standard system paths (/etc, /var/lib,
# /usr/bin, /tmp) are fine.
MACHINE_PATH = re.compile(
    r"(?<![\w.~\-/])/(?:home|Users|root|work|farm|mnt|srv/[a-z]+/home)/[A-Za-z]|(?<![\w])[A-Za-z]:\\\\?Users\\\\?[A-Za-z]"
)


def repository_files() -> list[Path]:
    """What git tracks or would track (ignored files are the machine's own); every file without git."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        paths = [ROOT / name for name in listed.split("\0") if name]
        return [p for p in paths if p.is_file() and p.suffix not in SKIPPED_SUFFIXES]
    found: list[Path] = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.endswith((".egg-info", "_cache")) for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in SKIPPED_SUFFIXES:
            found.append(path)
    return found


def machine_paths(text: str) -> list[str]:
    """The machine-specific absolute paths named in `text`, each with a little context."""
    return [text[max(0, m.start() - 20) : m.end() + 20].strip() for m in MACHINE_PATH.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ORACLES = Path('/home/builder/shared/oracles')", True),
        ("see /home/cashier/receipts.db", True),
        (r"C:\Users\store\AppData", True),
        ("/Users/it/Library/Logs", True),
        ("StateDirectory maps to /var/lib/receiptdesk", False),
        ("settings under /etc/receiptdesk/settings.toml", False),
        ("https://example.com/home/page", False),
        ("tests/fixtures/oracles", False),
    ],
)
def test_the_checker_tells_machine_paths_from_portable_ones(text: str, found: bool) -> None:
    assert bool(machine_paths(text)) is found


def test_no_file_names_an_absolute_path_of_a_particular_machine() -> None:
    offenders: dict[str, list[str]] = {}
    files = repository_files()
    assert len(files) > 100, "the walk found too few files to be the repository"
    for path in files:
        if path == Path(__file__).resolve():
            continue  # this file names such paths on purpose, as examples
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits = machine_paths(text)
        if hits:
            offenders[str(path.relative_to(ROOT))] = hits[:3]
    assert offenders == {}
