"""Yawn readings on real talking clips (no yawns), as the daemon computes them: how often, how long.

Run: ``python -m benchmarks.yawn_clips`` (writes ``benchmarks/results/yawn_clips.json``).

Each clip is replayed through the daemon's own pipeline, built by :mod:`edge_monitor.builder`
from the default config (``--config`` for another): the face detector of ``detector.kind``, the
landmark stage, the mouth crop centred on the landmarks, the int8 yawn model, then
:class:`edge_monitor.decisions.DriverDecisions` (landmark geometry and the model) and
:class:`edge_monitor.fatigue.YawnTracker`. Everything reported is read from the pipeline's
:class:`edge_monitor.types.StepResult` per frame:

* frames with a face box, and frames where the yawn model ran (``yawn_prob``);
* the share of those with P(yawn) ≥ ``fatigue.yawn_prob`` (the model alone), and its longest run;
* the share of frames where the mouth was seen that the decisions call yawning (``mouth_wide``),
  and its longest run;
* the ``yawn`` events raised (the clips show awake people talking: any is a false alarm);
* the yawn stage's latency per frame where the model ran: the mouth crop plus the model, timed
  around the device's own :class:`edge_monitor.mouth.YawnEstimator` (:class:`TimedYawns`).

A run lasts from its first frame to the first frame after it, as the yawn tracker measures a yawn
at ``fatigue.yawn_reopen_s`` 0, so the longest run compares with ``fatigue.yawn_min_s``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.machine import describe, write_result
from benchmarks.stats import percentiles
from conversion.paths import shared_dir
from edge_monitor.builder import DeviceModels, load_models
from edge_monitor.config import load_config
from edge_monitor.mouth import YawnEstimator
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import FaceBox, StepResult

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CLIPS = ("clips/fer/woman2.mp4", "clips/pyfeat/single_face.mp4")


class TimedYawns:
    """The device's yawn estimator, timing each frame's mouth crop plus model call.

    The pipeline cuts the mouth crop (one of the ``mouth_pixels`` methods), then calls
    :meth:`yawn_prob_of` once per frame with a face; a frame's time is recorded when the model
    ran (a crop was usable).

    Args:
        inner: The estimator the pipeline would use.
    """

    def __init__(self, inner: YawnEstimator) -> None:
        self._inner = inner
        self._crop_s = 0.0
        self.seconds: list[float] = []

    def _crop(self, cut: Callable[..., np.ndarray | None], *args: object) -> np.ndarray | None:
        t0 = time.perf_counter()
        pixels = cut(*args)
        self._crop_s = time.perf_counter() - t0
        return pixels

    def mouth_pixels(self, gray: np.ndarray, face: FaceBox) -> np.ndarray | None:
        return self._crop(self._inner.mouth_pixels, gray, face)

    def mouth_pixels_at(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray | None:
        return self._crop(self._inner.mouth_pixels_at, gray, points)

    def yawn_prob_of(self, pixels: np.ndarray | None) -> float | None:
        t0 = time.perf_counter()
        p = self._inner.yawn_prob_of(pixels)
        if pixels is not None:
            self.seconds.append(self._crop_s + time.perf_counter() - t0)
        self._crop_s = 0.0
        return p


def open_runs(times: Sequence[float], flags: Sequence[bool | None]) -> list[float]:
    """Durations of the runs of consecutive frames whose flag is True.

    A run lasts from its first frame to the first frame after it (the next frame's time; the
    clip's median frame period after the last frame of the clip). A frame whose flag is False
    or None (not seen) ends a run.
    """
    runs: list[float] = []
    start: float | None = None
    for t, flag in zip(times, flags, strict=True):
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            runs.append(t - start)
            start = None
    if start is not None:
        period = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
        runs.append(times[-1] + period - start)
    return runs


def _share(flags: list[bool]) -> float:
    return round(float(np.mean(flags)), 4) if flags else 0.0


def _longest(times: list[float], flags: list[bool | None]) -> float:
    return round(max(open_runs(times, flags), default=0.0), 3)


def clip_stats(results: Sequence[StepResult], threshold: float) -> dict:
    """What the pipeline computed over one clip, summarised (no latency, no clip name).

    Args:
        results: The pipeline's result for every frame of the clip, in order.
        threshold: P(yawn) counted as "open" for the model alone (``fatigue.yawn_prob``).
    """
    times = [r.frame.t for r in results]
    probs = np.array([r.yawn_prob for r in results if r.yawn_prob is not None], np.float64)
    model_open = [r.yawn_prob is not None and r.yawn_prob >= threshold for r in results]
    decided = [r.mouth_wide for r in results if r.mouth_wide is not None]
    yawns = [e for r in results for e in r.events if e.kind == "yawn"]
    return {
        "frames": len(results),
        "frames_with_face": sum(r.face is not None for r in results),
        "frames_with_prob": int(probs.size),
        "prob_mean": round(float(probs.mean()), 4) if probs.size else None,
        "prob_p95": round(float(np.percentile(probs, 95)), 4) if probs.size else None,
        "prob_max": round(float(probs.max()), 4) if probs.size else None,
        "prob_open_fraction": _share([p >= threshold for p in probs]),
        "longest_prob_open_run_s": _longest(times, model_open),
        "frames_mouth_seen": len(decided),
        "yawning_fraction": _share(decided),
        "longest_yawning_run_s": _longest(times, [r.mouth_wide for r in results]),
        "yawn_events": len(yawns),
        "yawns": [dict(e.data) for e in yawns],
    }


def replay(models: DeviceModels, path: Path) -> tuple[list[StepResult], list[float], float]:
    """Run one clip through a fresh pipeline over ``models``.

    Returns:
        Every frame's result, the yawn stage's seconds per frame where the model ran, and the
        clip's frame rate.
    """
    timed = TimedYawns(models.yawns)
    pipeline = dataclasses.replace(models, yawns=timed).pipeline()
    source = VideoFileSource(path)
    try:
        results = []
        while (frame := source.read()) is not None:
            results.append(pipeline.step(frame))
        return results, timed.seconds, source.fps
    finally:
        source.close()


def run_clip(models: DeviceModels, path: Path) -> dict:
    """One clip's statistics (:func:`clip_stats`), its frame rate and the yawn stage's latency."""
    results, seconds, fps = replay(models, path)
    name = str(path.relative_to(shared_dir())) if path.is_relative_to(shared_dir()) else str(path)
    stats = clip_stats(results, models.cfg.fatigue.yawn_prob)
    return {"clip": name, "fps": round(fps, 3), **stats, "yawn_stage_ms": percentiles(seconds)}


def _print_clip(c: dict, min_s: float) -> None:
    print(
        f"{c['clip']}: {c['frames_with_face']}/{c['frames']} frames with a face;"
        f" P(yawn) open {100 * c['prob_open_fraction']:.1f} % (longest {c['longest_prob_open_run_s']:.2f} s);"
        f" yawning {100 * c['yawning_fraction']:.1f} % (longest {c['longest_yawning_run_s']:.2f} s);"
        f" {c['yawn_events']} yawn events at yawn_min_s {min_s} s;"
        f" yawn stage p50 {c['yawn_stage_ms'].get('p50')} ms"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.yawn_clips", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=None, help="config file (default: the default config)")
    p.add_argument(
        "--clips", type=Path, nargs="+", default=None, help="clips (default: woman2.mp4, single_face.mp4)"
    )
    p.add_argument("--out", type=Path, default=RESULTS / "yawn_clips.json")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    clips = args.clips or [shared_dir() / c for c in DEFAULT_CLIPS]
    models = load_models(cfg)
    try:
        per_clip = [run_clip(models, Path(c)) for c in clips]
    finally:
        models.close()
    result = {
        "benchmark": "yawn_clips",
        "config": str(args.config) if args.config else "default",
        "pipeline": "edge_monitor.builder.load_models(cfg).pipeline()",
        "detector": cfg.detector.kind,
        "landmarks": cfg.landmarks.enabled,
        "yawn_model": cfg.models.yawn or "shipped yawn.tflite",
        "interpreter_threads": cfg.models.threads,
        "yawn_prob": cfg.fatigue.yawn_prob,
        "yawn_min_s": cfg.fatigue.yawn_min_s,
        "machine": describe(),
        "clips": per_clip,
    }
    write_result(args.out, result)
    for c in per_clip:
        _print_clip(c, cfg.fatigue.yawn_min_s)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
