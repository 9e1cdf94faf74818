"""Summary statistics shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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


def time_calls(fn: Callable[[Any], object], items: Sequence[Any], repeats: int, warmup: int) -> list[float]:
    """Seconds per call of ``fn(item)``, every item ``repeats`` times, after ``fn`` ran on the
    first ``warmup`` items (caches, XNNPACK weight packing)."""
    for item in items[:warmup]:
        fn(item)
    times = []
    for _ in range(repeats):
        for item in items:
            t0 = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - t0)
    return times


def time_model(model: Path, inputs: Sequence[Any], repeats: int, warmup: int, threads: int = 1) -> dict:
    """Per-call latency (ms percentiles) of the device's call (``predict_pixels``) of ``model``.

    Returns:
        ``inference_ms`` and ``model_bytes`` (the file's size).
    """
    from edge_monitor.inference import load_classifier

    clf = load_classifier(model, threads=threads)
    try:
        times = time_calls(clf.predict_pixels, inputs, repeats, warmup=warmup)
    finally:
        clf.close()
    return {"inference_ms": percentiles(times), "model_bytes": model.stat().st_size}
