"""Percentiles and latency summaries shared by the benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between closest ranks (numpy's way)."""
    if not values:
        return math.nan
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (pos - low))


def median(values: Sequence[float]) -> float:
    """The 50th percentile."""
    return percentile(values, 50)


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of a list of latencies (same unit as the input)."""
    if not values:
        return {
            "n": 0,
            "p50": math.nan,
            "p95": math.nan,
            "p99": math.nan,
            "max": math.nan,
            "mean": math.nan,
        }
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": float(max(values)),
        "mean": float(sum(values) / len(values)),
    }


def fmt_summary(s: dict[str, float], unit: str = "ms") -> str:
    """'p50 1.2 / p95 3.4 / p99 5.6 ms (n=100)'."""
    return (
        f"p50 {s['p50']:.1f} / p95 {s['p95']:.1f} / p99 {s['p99']:.1f} / max {s['max']:.1f} "
        f"{unit} (n={s['n']})"
    )
