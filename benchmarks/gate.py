"""The benchmarks' gate: `python benchmarks/gate.py [--record] [--only NAME ...]`.

Runs each benchmark of `BENCHMARKS` that exists, one after another, with `--quick --json`, reads the
"ratios" of the JSON object it prints (each a figure over its reference measured in the same run,
higher is better: never an absolute time, so a slower or busier machine does not fail it), and compares
each with `baseline.json`. A ratio more than its margin below its baseline fails the gate (exit 1);
the margin is `default_margin` (30%) unless the ratio sets its own. A benchmark that fails to run, or
stops printing a ratio its baseline has, fails it too; a ratio the baseline lacks is shown as new.

`--record` writes what this run measured as the new baseline (keeping each ratio's own margin): after
a deliberate change of speed, committed with it.

`--ci` is the part `make test` runs beside the test suite (so on a machine busy with it): the
benchmarks of `CI` only, and of them only the ratios that hold steady when the machine is busy
(a CPU time against a CPU time, a search against a list of the same database, a command's start against
an empty interpreter's, serve's memory at the end of a short soak against after its warm-up). Ratios of
throughput across processes, latency tails and stalls move with the machine's load; `make bench-gate`,
on a quiet machine, judges those too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
DEFAULT_MARGIN = 0.30
TIMEOUT_S = 600

BENCHMARKS: list[tuple[str, list[str]]] = [
    ("bench_search.py", ["--quick", "--json"]),
    ("bench_soak.py", ["--quick", "--json"]),
    ("bench_cli_start.py", ["--quick", "--json"]),
    ("bench_hub.py", ["--quick", "--json"]),
    ("bench_drain.py", ["--quick", "--json"]),
    ("bench_ingest.py", ["--quick", "--json"]),
    ("bench_kiosk.py", ["--quick", "--json"]),
]
"""Each benchmark's file (beside this one) and its arguments; one not there yet is skipped with a note."""

CI: dict[str, tuple[str, ...]] = {
    "bench_cli_start.py": ("pass_vs_help", "pass_vs_schema_sale", "pass_vs_receipts_list"),
    "bench_search.py": ("search_vs_newest_list",),
    "bench_ingest.py": ("api_cpu_empty_over_sale",),
    "bench_soak.py": ("memory_start_over_end",),
}
"""`--ci`: the benchmarks run beside the test suite, and the ratios judged there (the rest are shown)."""


@dataclass(frozen=True)
class Row:
    benchmark: str
    ratio: str
    baseline: float | None
    now: float | None
    verdict: str


def last_json_object(out: str) -> dict[str, Any] | None:
    """The last JSON object printed on stdout (one line, or indented over several)."""
    decoder = json.JSONDecoder()
    lines = out.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("{"):
            try:
                found, _ = decoder.raw_decode("\n".join(lines[i:]))
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return None


def run(name: str, args: list[str]) -> tuple[dict[str, float] | None, str, float]:
    """The ratios `name` printed, or None and why not; and the seconds it took."""
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / name), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
            cwd=HERE.parent,
        )
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {TIMEOUT_S} s", time.monotonic() - started
    took = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"exit {done.returncode}: " + " / ".join(tail), took
    found = last_json_object(done.stdout)
    if found is None or not isinstance(found.get("ratios"), dict):
        return None, "printed no JSON object with ratios", took
    return {k: float(v) for k, v in found["ratios"].items()}, "", took


def judge(
    name: str,
    ratios: dict[str, float],
    recorded: dict[str, Any],
    default_margin: float,
    judged: tuple[str, ...] | None = None,
) -> list[Row]:
    """Each ratio against its baseline; with `judged`, only those ratios can fail (the rest are shown)."""
    rows: list[Row] = []
    for ratio, now in sorted(ratios.items()):
        entry = recorded.get(ratio)
        if entry is None:
            rows.append(Row(name, ratio, None, now, "new"))
            continue
        if judged is not None and ratio not in judged:
            rows.append(Row(name, ratio, float(entry["baseline"]), now, "shown (not judged with --ci)"))
            continue
        base, margin = float(entry["baseline"]), float(entry.get("margin", default_margin))
        floor = base * (1 - margin)
        verdict = "ok" if now >= floor else f"FAIL (< {floor:.4g}, margin {margin:.0%})"
        rows.append(Row(name, ratio, base, now, verdict))
    missing = set(recorded) - set(ratios)
    for ratio in sorted(missing if judged is None else missing & set(judged)):
        rows.append(Row(name, ratio, float(recorded[ratio]["baseline"]), None, "FAIL (not printed)"))
    return rows


def table(rows: list[Row]) -> str:
    def number(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}"

    widths = (max([18, *(len(r.benchmark) for r in rows)]), max([24, *(len(r.ratio) for r in rows)]))
    lines = [f"{'benchmark':<{widths[0]}} {'ratio':<{widths[1]}} {'baseline':>9} {'now':>9}  verdict"]
    lines += [
        f"{r.benchmark:<{widths[0]}} {r.ratio:<{widths[1]}} {number(r.baseline):>9} {number(r.now):>9}  {r.verdict}"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--record", action="store_true", help="write this run's ratios as the baseline")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (e.g. bench_search.py)")
    parser.add_argument("--ci", action="store_true", help="the part make test runs: the steady ratios of CI")
    options = parser.parse_args(argv)
    if options.ci and options.record:
        parser.error("--record writes every benchmark's baseline: run it without --ci")
    baseline: dict[str, Any] = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.exists() else {}
    default_margin = float(baseline.get("default_margin", DEFAULT_MARGIN))
    recorded: dict[str, dict[str, Any]] = baseline.get("benchmarks", {})
    rows: list[Row] = []
    failed = False
    measured: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    for name, args in BENCHMARKS:
        if options.only and name not in options.only and name.removesuffix(".py") not in options.only:
            continue
        if options.ci and name not in CI:
            continue
        if not (HERE / name).exists():
            print(f"{name}: not there yet, skipped", flush=True)
            continue
        print(f"{name} {' '.join(args)} ...", end=" ", flush=True)
        ratios, why, took = run(name, args)
        print(f"{took:.0f} s", flush=True)
        if ratios is None:
            rows.append(Row(name, "-", None, None, f"FAIL ({why})"))
            failed = True
            continue
        measured[name] = ratios
        judged = judge(name, ratios, recorded.get(name, {}), default_margin, CI[name] if options.ci else None)
        failed |= any(r.verdict.startswith("FAIL") for r in judged)
        rows += judged
    print()
    print(table(rows))
    print(f"\n{len(measured)} benchmarks in {time.monotonic() - started:.0f} s")
    if options.record:
        for name, ratios in measured.items():
            old = recorded.get(name, {})
            recorded[name] = {
                ratio: {"baseline": now, **({"margin": old[ratio]["margin"]} if "margin" in old.get(ratio, {}) else {})}
                for ratio, now in sorted(ratios.items())
            }
        baseline = {"default_margin": default_margin, "benchmarks": dict(sorted(recorded.items()))}
        BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
        print(f"recorded {sum(len(r) for r in measured.values())} ratios in {BASELINE.name}")
        return 0
    print("gate: FAILED" if failed else "gate: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
