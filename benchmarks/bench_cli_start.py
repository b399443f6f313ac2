"""Start-up time of `receiptdesk` commands: `python benchmarks/bench_cli_start.py [--runs 10] [--quick] [--json]`.

Runs each command `runs` times in a fresh process, from an empty folder over a fresh data folder
(its database made by a first, untimed run), and prints the mean wall time next to the mean of
`python -c pass` on the same interpreter, and their ratio, so a slow or busy machine does not fool
anyone. Twice: with an empty settings file, and with one that sets up providers (whose sections the
commands over records check, as the whole runtime does). Aims: `--help` and `schema sale` under
0.5 s; the commands over records as close to them as their SQL layer allows.
"""

from __future__ import annotations

import argparse
import json
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

QUICK_COMMANDS: tuple[tuple[str, ...], ...] = (("--help",), ("schema", "sale"), ("receipts", "list"))
"""`--quick`: one command of each kind."""

PROVIDERS = """
[providers.sendgrid]
from_email = "receipts@example.com"

[providers.twilio]
account_sid = "AC00000000000000000000000000000000"
from_number = "+15550100000"
"""
"""Settings naming the default routing's providers, as a set-up installation's do."""


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


def figures(reference: float, means: dict[str, list[float]], runs: int) -> dict[str, object]:
    """The means with empty settings, and for the CI gate each command's ratio `python -c pass` over it
    (higher is better: 1.0 would start as fast as an empty interpreter)."""
    return {
        "runs": runs,
        "python_c_pass_s": round(reference, 4),
        "mean_s": {typed: round(measured[0], 4) for typed, measured in means.items()},
        "ratios": {
            f"pass_vs_{typed.replace('-', '').replace(' ', '_')}": round(reference / measured[0], 4)
            for typed, measured in means.items()
        },
    }


def main() -> None:
    """Time each command and print its mean and its ratio to an empty interpreter's start."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=None, help="runs of each command (default 10; --quick 2)")
    parser.add_argument("--quick", action="store_true", help="2 runs of 3 commands, empty settings only")
    parser.add_argument("--json", action="store_true", help="one JSON object: each mean, and ratios for the CI gate")
    options = parser.parse_args()
    runs = max(1, options.runs or (2 if options.quick else 10))
    commands = QUICK_COMMANDS if options.quick else COMMANDS
    setups = (("empty", ""),) if options.quick else (("empty", ""), ("providers", PROVIDERS))
    base = receiptdesk()
    folder = Path(tempfile.mkdtemp(prefix="receiptdesk-bench-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        reference = mean_seconds([sys.executable, "-c", "pass"], runs, folder, env)
        means: dict[str, list[float]] = {" ".join(command): [] for command in commands}
        for name, text in setups:
            data, config = folder / f"data-{name}", folder / f"{name}.toml"
            config.write_text(text, encoding="utf-8")
            where = ["--config", str(config), "--data-dir", str(data)]
            subprocess.run([*base, *where, "db", "upgrade"], cwd=folder, env=env, capture_output=True, check=True)
            for command in commands:
                argv = [*base, *command] if command == ("--help",) else [*base, *where, *command]
                means[" ".join(command)].append(mean_seconds(argv, runs, folder, env))
        if options.json:
            print(json.dumps(figures(reference, means, runs)))
            return
        print(f"mean of {runs} runs, seconds (and x python -c pass)")
        print(f"{'command':<16} {'empty settings':>16} {'with providers':>16}")
        print(f"{'python -c pass':<16} {reference:>8.3f} {'(1.0)':>7} {reference:>8.3f} {'(1.0)':>7}")
        for typed, measured in means.items():
            shown = " ".join(f"{m:>8.3f} {f'({m / reference:.1f})':>7}" for m in measured)
            print(f"{typed:<16} {shown}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
