"""Build ReceiptDesk's Debian package: a PyInstaller one-folder bundle under /opt/receiptdesk.

    python packaging/build_deb.py [--version 0.1.0] [--output dist]      (`make package`)

1. A build environment (a venv with the app's dependencies, kiosk and PostgreSQL included, pinned
   by constraints.txt, and the freezer of packaging/requirements-freeze.txt). Made once and kept,
   keyed on everything that decides what it holds.
2. The app's wheel, built from a copy of the tree and installed into a folder of its own: the bundle
   holds exactly what the wheel ships.
3. The frozen bundle (`pyinstaller packaging/receiptdesk.spec`): Python and the libraries. Kept
   too, keyed on the build environment, the spec and every module the app imports
   (`freeze_data.import_digest`). The app itself (its modules, templates, resources, migrations) is
   plain files in the bundle, laid from this build's wheel every time and compiled to bytecode, so
   a change to the app that imports nothing new needs no new freeze.
4. The package tree: the bundle, /usr/bin/receiptdesk, the systemd unit, the desktop launcher and
   icons, the autostart example, the site settings (a conffile) and the maintainer scripts of
   packaging/linux/, then `dpkg-deb --build`.

The caches live in $RECEIPTDESK_BUILD_CACHE (default ~/.cache/receiptdesk-build); --no-cache builds
everything afresh. Linux only; the Windows build runs the same spec (packaging/windows/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from freeze_data import APP, import_digest

HERE = Path(__file__).resolve().parent
LINUX = HERE / "linux"
PREFIX = PurePosixPath("/opt/receiptdesk")
KEPT_BUNDLES = 3
"""Frozen bundles kept in the cache (the newest); each is about 220 MB."""

SOURCE_SKIPPED = {
    ".git",
    ".venv",
    ".ci",
    "tests",
    "benchmarks",
    "screenshots",
    "docs",
    "build",
    "dist",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".data",
}


def log(message: str) -> None:
    print(f"build_deb: {message}", flush=True)


def sha256_of(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def run(command: list[str], **kwargs: Any) -> None:
    subprocess.run(command, check=True, **kwargs)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One build at a time per cache (two builds would fill the same venv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def copy_source(source: Path, into: Path) -> Path:
    """What the wheel is built from, without the clone's own build leftovers (a stale build/ would leak in)."""
    target = into / "src"
    shutil.copytree(
        source,
        target,
        ignore=lambda _dir, names: [n for n in names if n in SOURCE_SKIPPED or n.endswith(".egg-info")],
    )
    return target


def project_inputs(source: Path) -> tuple[str, list[str]]:
    """The extras the bundle installs, and the constraints file arguments for pip."""
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [e for e in ("kiosk", "postgres") if e in project.get("optional-dependencies", {})]
    constraints = source / "constraints.txt"
    return (f"[{','.join(extras)}]" if extras else ""), (["-c", str(constraints)] if constraints.exists() else [])


def build_env_key(source: Path) -> str:
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    constraints = source / "constraints.txt"
    return sha256_of(
        sys.version,
        platform.machine(),
        json.dumps([project.get("dependencies", []), project.get("optional-dependencies", {})], sort_keys=True),
        constraints.read_bytes() if constraints.exists() else b"",
        (HERE / "requirements-freeze.txt").read_bytes(),
    )[:16]


def build_env(source: Path, cache: Path) -> tuple[Path, str]:
    """A venv with the app's dependencies and the freezer (not the app itself), made once per key."""
    key = build_env_key(source)
    venv = cache / f"env-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        log(f"build environment reused ({venv.name})")
        return python, key
    shutil.rmtree(venv, ignore_errors=True)
    started = time.perf_counter()
    run([sys.executable, "-m", "venv", str(venv)])
    extras, constraints = project_inputs(source)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-r", str(HERE / "requirements-freeze.txt")])
    run([*pip, *constraints, f"{source}{extras}"])
    run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "receiptdesk"])
    (venv / ".complete").touch()
    log(f"build environment made in {time.perf_counter() - started:.0f} s ({venv.name})")
    return python, key


def install_wheel(python: Path, source: Path, into: Path) -> Path:
    """The app as its wheel installs it, in a folder of its own."""
    site = into / "site"
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-compile",
            "--target",
            str(site),
            str(source),
        ],
        cwd=into,
    )
    return site


def freeze(python: Path, env_key: str, site: Path, cache: Path | None, work: Path) -> Path:
    """The PyInstaller one-folder bundle for this code: from the cache, or frozen now (and kept)."""
    spec = HERE / "receiptdesk.spec"
    key = sha256_of(
        env_key,
        import_digest(site),
        spec.read_bytes(),
        (HERE / "freeze_entry.py").read_bytes(),
        (HERE / "freeze_data.py").read_bytes(),
    )[:16]
    if cache is not None:
        kept = cache / f"bundle-{key}"
        if (kept / ".complete").exists():
            os.utime(kept)
            log(f"frozen bundle reused ({kept.name}): the libraries, the spec and the app's imports are unchanged")
            return kept / "receiptdesk"
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(site)}
    run(
        [
            str(python),
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "pyinstaller"),
            str(spec),
        ],
        cwd=work,
        env=env,
    )
    bundle = work / "dist" / "receiptdesk"
    log(f"frozen in {time.perf_counter() - started:.0f} s")
    if cache is None:
        return bundle
    kept = cache / f"bundle-{key}"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    shutil.move(str(bundle), kept / "receiptdesk")
    (kept / ".complete").touch()
    bundles = sorted(cache.glob("bundle-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in bundles[KEPT_BUNDLES:]:
        shutil.rmtree(old, ignore_errors=True)
    return kept / "receiptdesk"


def lay_app(python: Path, site: Path, internal: Path) -> int:
    """Replace the bundle's `app` and its metadata with this build's wheel's, compiled to bytecode for
    its installed place."""
    for metadata in internal.glob("receiptdesk-*.dist-info"):
        shutil.rmtree(metadata)
    for metadata in site.glob("receiptdesk-*.dist-info"):
        shutil.copytree(metadata, internal / metadata.name)
    target = internal / APP
    shutil.rmtree(target, ignore_errors=True)  # unlinks: the kept bundle's files stay as they were
    shutil.copytree(site / APP, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(
        [
            str(python),
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(internal),
            "-p",
            str(PREFIX / "_internal"),
            str(target),
        ],
    )
    return sum(1 for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def copy_bundle(bundle: Path, target: Path) -> None:
    """Hard links where the cache shares the file system (fast), copies where it does not."""
    try:
        shutil.copytree(bundle, target, symlinks=True, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(bundle, target, symlinks=True)


def install_file(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def glibc_needed(bundle: Path) -> str:
    """The newest glibc symbol version any program or library of the bundle asks for (its Depends).

    The bundle carries some of the build machine's own libraries (libstdc++, libexpat...), so it runs
    on that machine's glibc or newer: build on the oldest release the package is meant for.
    """
    elves = [str(p) for p in bundle.rglob("*") if p.is_file() and (".so" in p.name or p.name == "receiptdesk")]
    if shutil.which("objdump"):
        dumped = subprocess.run(["objdump", "-T", *elves], capture_output=True, text=True, check=False).stdout
        found = {tuple(int(n) for n in v.split(".")) for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", dumped)}
        if found:
            return ".".join(str(n) for n in max(found))
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        raise SystemExit("build_deb: builds on a glibc system (Debian or Ubuntu) only")
    return version


def stage(python: Path, bundle: Path, site: Path, root: Path, version: str) -> None:
    """The package's file tree under `root`."""
    opt = root / PREFIX.relative_to("/")
    copy_bundle(bundle, opt)
    laid = lay_app(python, site, opt / "_internal")
    log(f"the app laid from its wheel: {laid} files")

    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "receiptdesk").symlink_to(PREFIX / "receiptdesk")
    install_file(LINUX / "receiptdesk.service", root / "usr/lib/systemd/system/receiptdesk.service")
    install_file(LINUX / "receiptdesk.desktop", root / "usr/share/applications/receiptdesk.desktop")
    resources = site / APP / "resources"
    install_file(resources / "receiptdesk.svg", root / "usr/share/icons/hicolor/scalable/apps/receiptdesk.svg")
    install_file(resources / "receiptdesk.png", root / "usr/share/icons/hicolor/256x256/apps/receiptdesk.png")
    shared = root / "usr/share/receiptdesk"
    install_file(LINUX / "receiptdesk-kiosk-autostart.desktop", shared / "receiptdesk-kiosk-autostart.desktop")
    install_file(LINUX / "secrets.env", shared / "secrets.env")
    install_file(LINUX / "receiptdesk.toml", root / "etc/receiptdesk/receiptdesk.toml")
    install_file(LINUX / "copyright", root / "usr/share/doc/receiptdesk/copyright")

    debian = root / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        install_file(LINUX / "debian" / script, debian / script, 0o755)
    install_file(LINUX / "debian" / "conffiles", debian / "conffiles")
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    installed_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = (
        (LINUX / "debian" / "control.in")
        .read_text(encoding="utf-8")
        .format(
            version=version,
            architecture=subprocess.run(
                ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
            ).stdout.strip(),
            installed_size=installed_kib,
            glibc=glibc_needed(opt),
        )
    )
    (debian / "control").write_text(control, encoding="utf-8")


def app_version(site: Path) -> str:
    text = (site / APP / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not found:
        raise SystemExit("build_deb: app/__init__.py has no __version__")
    return found.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build ReceiptDesk's .deb from a frozen bundle.")
    parser.add_argument("--source", type=Path, default=HERE.parent, help="the tree to build (default: this one)")
    parser.add_argument("--version", help="the package's version (default: the app's __version__)")
    parser.add_argument("--output", type=Path, default=HERE.parent / "dist", help="where the .deb goes")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("RECEIPTDESK_BUILD_CACHE") or Path.home() / ".cache" / "receiptdesk-build"),
        help="where the build environment and frozen bundles are kept",
    )
    parser.add_argument("--no-cache", action="store_true", help="make the environment and the bundle afresh")
    parser.add_argument(
        "--compression",
        choices=("zstd", "xz", "gzip", "none"),
        default="zstd",
        help="dpkg-deb's compressor: zstd (default) takes seconds and every dpkg the bundle's glibc runs with "
        "reads it; xz makes a package 20%% smaller in minutes",
    )
    args = parser.parse_args(argv)
    if not shutil.which("dpkg-deb"):
        raise SystemExit("build_deb: needs dpkg-deb (Debian or Ubuntu)")
    source = args.source.resolve()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="receiptdesk-deb-") as tmp:
        work = Path(tmp)
        cache = work / "cache" if args.no_cache else args.cache.resolve()
        with locked(cache / ".lock"):
            t = time.perf_counter()
            python, env_key = build_env(source, cache)
            timings["environment_s"] = time.perf_counter() - t

            t = time.perf_counter()
            site = install_wheel(python, copy_source(source, work), work)
            timings["wheel_s"] = time.perf_counter() - t

            t = time.perf_counter()
            bundle = freeze(python, env_key, site, None if args.no_cache else cache, work)
            timings["freeze_s"] = time.perf_counter() - t

            t = time.perf_counter()
            version = args.version or app_version(site)
            root = work / "root"
            stage(python, bundle, site, root, version)
            timings["stage_s"] = time.perf_counter() - t

        t = time.perf_counter()
        args.output.mkdir(parents=True, exist_ok=True)
        architecture = (root / "DEBIAN" / "control").read_text(encoding="utf-8").split("Architecture: ")[1].split()[0]
        deb = args.output.resolve() / f"receiptdesk_{version}_{architecture}.deb"
        run(
            ["dpkg-deb", "--root-owner-group", f"-Z{args.compression}", "--build", str(root), str(deb)],
            stdout=subprocess.DEVNULL,
        )
        timings["dpkg_deb_s"] = time.perf_counter() - t
    size_mb = deb.stat().st_size / 1e6
    log(f"{deb} ({size_mb:.1f} MB); " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
