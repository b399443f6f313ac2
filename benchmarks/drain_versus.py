"""The drain rate of `demo --headless` against an earlier revision: `python benchmarks/drain_versus.py REV`.

Exports REV (`git archive`) to a temporary folder and runs `demo --headless --sales N` from it and
from this work tree in turn (`--rounds` pairs, alternating, so a busy machine slows both alike),
with this work tree's interpreter and libraries. Prints each run's deliveries per second, the mean of
each side and their ratio (this tree / REV). Run it from the repository's root; the runs take about
ten seconds each.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAIN = re.compile(r"Drain \d+ deliveries: ([\d.]+) deliveries/s")


def export(rev: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    tar = into / "tree.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as bundle:
        bundle.extractall(into, filter="data")


def drain_rate(tree: Path, sales: int) -> float:
    """One headless demo run from `tree` (its own `app` package first on the path); deliveries/s."""
    code = f"import sys; from app.cli import main; sys.exit(main(['demo', '--headless', '--sales', '{sales}']))"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory() as cwd:  # not the work tree: `app` comes from PYTHONPATH alone
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    found = DRAIN.search(out.stdout + out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"the demo from {tree} failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=4, help="pairs of runs (default 4)")
    parser.add_argument("--sales", type=int, default=2000, help="sales per run (default 2000)")
    args = parser.parse_args()
    then: list[float] = []
    now: list[float] = []
    with tempfile.TemporaryDirectory(prefix="receiptdesk-versus-") as tmp:
        old = Path(tmp)
        export(args.rev, old)
        for n in range(args.rounds):
            then.append(drain_rate(old, args.sales))
            now.append(drain_rate(ROOT, args.sales))
            print(f"round {n + 1}: {args.rev} {then[-1]:.1f}/s, this tree {now[-1]:.1f}/s", flush=True)
    a, b = statistics.mean(then), statistics.mean(now)
    print(f"{args.rev}: mean {a:.1f} deliveries/s ({', '.join(f'{x:.1f}' for x in then)})")
    print(f"this tree: mean {b:.1f} deliveries/s ({', '.join(f'{x:.1f}' for x in now)})")
    print(f"ratio (this tree / {args.rev}): {b / a:.3f}")


if __name__ == "__main__":
    main()
