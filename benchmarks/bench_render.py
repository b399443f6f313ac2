"""Receipt rendering throughput: `python benchmarks/bench_render.py [--count 2000] [--seed 1]`.

Parses `count` simulated sales up front (not timed), warms the renderer up, then renders each
sale once in its customer's language (English when none) and reports receipts per second and
milliseconds per receipt (mean, p50, p95, max). The target is under 2 ms per receipt on average.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.receipt import StoreProfile
from app.domain.sale import Sale
from app.rendering import ReceiptRenderer
from app.sandbox.pos import make_sale


def _sales(count: int, seed: int) -> list[tuple[Sale, Language]]:
    rng = random.Random(seed)
    out: list[tuple[Sale, Language]] = []
    for n in range(count):
        sale = parse_sale(make_sale(rng, sale_id=f"B-{n:06d}"))
        language = (sale.customer.language if sale.customer else None) or Language.EN
        out.append((sale, language))
    return out


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    store = StoreProfile(preferences_url="https://example.com/receipts/preferences")
    sales = _sales(args.count, args.seed)
    renderer = ReceiptRenderer()
    for sale, language in sales[:50]:  # warm-up: first-use costs are not the steady state
        renderer.render(sale, store, language)

    timings: list[float] = []
    started = time.perf_counter()
    for sale, language in sales:
        t0 = time.perf_counter_ns()
        renderer.render(sale, store, language)
        timings.append((time.perf_counter_ns() - t0) / 1e6)
    elapsed = time.perf_counter() - started

    timings.sort()
    items = statistics.mean(len(sale.items) for sale, _ in sales)
    print(f"rendered {len(sales)} receipts ({items:.1f} lines on average) in {elapsed:.2f} s")
    print(f"throughput: {len(sales) / elapsed:,.0f} receipts/s")
    print(
        f"ms per receipt: mean {statistics.mean(timings):.3f}  p50 {_percentile(timings, 0.50):.3f}  "
        f"p95 {_percentile(timings, 0.95):.3f}  max {timings[-1]:.3f}"
    )


if __name__ == "__main__":
    main()
