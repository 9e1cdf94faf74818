"""Summary statistics shared by the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(samples_s: Sequence[float], qs: Sequence[int] = (50, 90, 95, 99)) -> dict:
    """Percentiles, mean and count of durations in seconds, reported in milliseconds."""
    if len(samples_s) == 0:
        return {"n": 0}
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    return {f"p{q}": round(float(np.percentile(ms, q)), 4) for q in qs} | {
        "mean": round(float(ms.mean()), 4),
        "n": len(ms),
    }
