"""The benchmarks' gate judges ratios against the committed baseline, each within its margin."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gate", ROOT / "benchmarks" / "gate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gate"] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_a_ratio_fails_only_when_more_than_its_margin_below_its_baseline() -> None:
    gate = _gate()
    recorded = {"a": {"baseline": 1.0}, "b": {"baseline": 1.0, "margin": 0.1}, "gone": {"baseline": 2.0}}
    rows = {r.ratio: r.verdict for r in gate.judge("bench_x.py", {"a": 0.71, "b": 0.89, "new": 3.0}, recorded, 0.3)}
    assert rows["a"] == "ok"  # 29% below: within the default 30%
    assert rows["b"].startswith("FAIL")  # 11% below its own 10%
    assert rows["new"] == "new"
    assert rows["gone"] == "FAIL (not printed)"


def test_with_ci_only_the_steady_ratios_can_fail_and_each_is_in_the_baseline() -> None:
    gate = _gate()
    recorded = {"steady": {"baseline": 1.0}, "noisy": {"baseline": 1.0}, "gone": {"baseline": 1.0}}
    rows = {
        r.ratio: r.verdict for r in gate.judge("bench_x.py", {"steady": 0.5, "noisy": 0.1}, recorded, 0.3, ("steady",))
    }
    assert rows["steady"].startswith("FAIL") and rows["noisy"].startswith("shown") and "gone" not in rows
    baseline = json.loads((ROOT / "benchmarks" / "baseline.json").read_text(encoding="utf-8"))["benchmarks"]
    assert all(set(ratios) <= set(baseline[name]) for name, ratios in gate.CI.items())


def test_the_committed_baseline_names_only_benchmarks_the_gate_runs() -> None:
    gate = _gate()
    baseline = json.loads((ROOT / "benchmarks" / "baseline.json").read_text(encoding="utf-8"))
    assert set(baseline["benchmarks"]) <= {name for name, _ in gate.BENCHMARKS}
    assert all(float(r["baseline"]) > 0 for ratios in baseline["benchmarks"].values() for r in ratios.values())
    printed = 'log line\n{\n  "ratios": {"x": 0.5},\n  "n": 1\n}\n'
    assert gate.last_json_object(printed) == {"ratios": {"x": 0.5}, "n": 1}
