"""Small, explicit statistics: medians with min/max, percentiles, ratios."""

import math
import statistics
from typing import Any


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, min, max, p50/p99 and count of a list of milliseconds (or any unit)."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p50": percentile(ordered, 50),
        "p99": percentile(ordered, 99),
    }


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
