"""Start-up time of `receiptdesk` commands: `python benchmarks/bench_cli_start.py [--runs 10]`.

Runs each command `runs` times in a fresh process, from an empty folder over a fresh data folder
(its database made by a first, untimed run), and prints the mean wall time next to the mean of
`python -c pass` on the same interpreter, and their ratio, so a slow or busy machine does not fool
anyone. Aims: `--help` and `schema sale` under 0.5 s; the commands that only read the database as
close to them as their SQL layer allows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("schema", "sale"),
    ("managers", "list"),
    ("audit", "verify"),
    ("receipts", "list"),
    ("queue", "status"),
    ("tokens", "list"),
)
"""The commands timed: two that touch no database, then the everyday database readers."""


def receiptdesk() -> list[str]:
    """The installed console script next to this interpreter, else `python -m app`."""
    script = Path(sys.executable).with_name("receiptdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def mean_seconds(argv: Sequence[str], runs: int, cwd: Path, env: dict[str, str]) -> float:
    """The mean wall time of `runs` runs of `argv`; a failed run stops the benchmark."""
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.fmean(times)


def main() -> None:
    """Time each command and print its mean and its ratio to an empty interpreter's start."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    options = parser.parse_args()
    runs = max(1, options.runs)
    base = receiptdesk()
    folder = Path(tempfile.mkdtemp(prefix="receiptdesk-bench-"))
    try:
        data, config = folder / "data", folder / "settings.toml"
        config.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        where = ["--config", str(config), "--data-dir", str(data)]
        subprocess.run([*base, *where, "db", "upgrade"], cwd=folder, env=env, capture_output=True, check=True)
        reference = mean_seconds([sys.executable, "-c", "pass"], runs, folder, env)
        print(f"{'command':<24} {'mean s':>8} {'x python -c pass':>17}")
        print(f"{'python -c pass':<24} {reference:>8.3f} {1.0:>17.1f}")
        for command in COMMANDS:
            argv = [*base, *command] if command == ("--help",) else [*base, *where, *command]
            mean = mean_seconds(argv, runs, folder, env)
            print(f"{' '.join(command):<24} {mean:>8.3f} {mean / reference:>17.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
