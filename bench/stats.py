"""The one percentile helper benchmarks share (nearest rank, so a reported p95 is a real sample)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(samples: Iterable[float], p: float) -> float:
    """The `p`-th percentile (0 < p <= 100) by nearest rank; NaN for no samples."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
