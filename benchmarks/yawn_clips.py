"""Per-frame P(yawn) on real talking clips (no yawns): how often and how long it reads "open".

Run: ``python -m benchmarks.yawn_clips`` (writes ``benchmarks/results/yawn_clips.json``).

Each clip is replayed through the device's own path: the default config's Haar face tracker
(:class:`edge_monitor.faces.DriverFaceTracker`, a turned face where no frontal one is found), then :class:`edge_monitor.mouth.YawnEstimator`
with the shipped int8 model on one thread. The clips show awake people talking, so every frame
with P(yawn) ≥ 0.5 is a false positive. Reported per clip: the share of such frames, the longest
run of them in seconds (measured as :class:`edge_monitor.fatigue.YawnTracker` measures a yawn:
from the first open frame to the first frame that is not), the yawn events the tracker raises at
the configured ``fatigue.yawn_min_s``, and the estimator's latency per face.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe, write_result
from benchmarks.stats import percentiles
from conversion.paths import shared_dir
from edge_monitor.config import Config, load_config
from edge_monitor.faces import build_face_tracker
from edge_monitor.fatigue import YawnTracker
from edge_monitor.inference import load_classifier
from edge_monitor.mouth import YawnEstimator
from edge_monitor.paths import shipped_models_dir
from edge_monitor.sources.replay import VideoFileSource

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CLIPS = ("clips/fer/woman2.mp4", "clips/pyfeat/single_face.mp4")


def open_runs(times: list[float], probs: list[float | None], threshold: float) -> list[float]:
    """Durations of the runs of consecutive frames with P(yawn) ≥ ``threshold``.

    A run lasts from its first frame to the first frame after it (the next frame's time; the
    clip's frame period after the last frame of the clip), as the yawn tracker measures it. A
    frame without a probability (no face) ends a run.
    """
    runs: list[float] = []
    start: float | None = None
    period = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    for t, p in zip(times, probs, strict=True):
        is_open = p is not None and p >= threshold
        if is_open and start is None:
            start = t
        elif not is_open and start is not None:
            runs.append(t - start)
            start = None
    if start is not None:
        runs.append(times[-1] + period - start)
    return runs


def run_clip(path: Path, estimator: YawnEstimator, cfg: Config, threshold: float) -> dict:
    """Replay one clip and collect its P(yawn) statistics."""
    source = VideoFileSource(path)
    tracker = build_face_tracker(cfg.detector, cfg.face)
    yawns = YawnTracker(cfg.fatigue, threshold)
    times: list[float] = []
    probs: list[float | None] = []
    latency: list[float] = []
    events = 0
    try:
        while (frame := source.read()) is not None:
            box, detected = tracker.update(frame.gray, frame.t)
            if not detected and tracker.turned_face is not None:  # as the pipeline does
                box = tracker.turned_face
            p = None
            if box is not None:
                t0 = time.perf_counter()
                p = estimator.yawn_prob(frame.gray, box)
                latency.append(time.perf_counter() - t0)
            times.append(frame.t)
            probs.append(p)
            events += sum(e.kind == "yawn" for e in yawns.update(frame.t, frame.index, p))
        fps = source.fps
    finally:
        source.close()
    seen = np.array([p for p in probs if p is not None], np.float64)
    runs = open_runs(times, probs, threshold)
    return {
        "clip": str(path.relative_to(shared_dir())) if path.is_relative_to(shared_dir()) else str(path),
        "frames": len(probs),
        "fps": round(fps, 3),
        "frames_with_prob": int(seen.size),
        "open_frames": int((seen >= threshold).sum()),
        "open_fraction": round(float((seen >= threshold).mean()), 4) if seen.size else 0.0,
        "prob_mean": round(float(seen.mean()), 4) if seen.size else None,
        "prob_p95": round(float(np.percentile(seen, 95)), 4) if seen.size else None,
        "prob_max": round(float(seen.max()), 4) if seen.size else None,
        "open_runs": len(runs),
        "longest_open_run_s": round(max(runs), 3) if runs else 0.0,
        "yawn_events_at_yawn_min_s": events,
        "yawn_prob_latency_ms": percentiles(latency),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.yawn_clips", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, help="yawn .tflite (default: the shipped model)")
    p.add_argument(
        "--clips", type=Path, nargs="+", default=None, help="clips (default: woman2.mp4, single_face.mp4)"
    )
    p.add_argument("--threshold", type=float, default=0.5, help="P(yawn) counted as mouth open")
    p.add_argument("--out", type=Path, default=RESULTS / "yawn_clips.json")
    args = p.parse_args(argv)
    model = args.model or shipped_models_dir() / "yawn.tflite"
    clips = args.clips or [shared_dir() / c for c in DEFAULT_CLIPS]
    cfg = load_config()
    estimator = YawnEstimator(load_classifier(model, threads=1))
    try:
        per_clip = [run_clip(Path(c), estimator, cfg, args.threshold) for c in clips]
    finally:
        estimator.close()
    result = {
        "benchmark": "yawn_clips",
        "model": model.name,
        "threshold": args.threshold,
        "yawn_min_s": cfg.fatigue.yawn_min_s,
        "detector": "default config (DriverFaceTracker)",
        "machine": describe(),
        "clips": per_clip,
    }
    write_result(args.out, result)
    for c in per_clip:
        print(
            f"{c['clip']}: {c['frames_with_prob']}/{c['frames']} frames with a face,"
            f" P(yawn) >= {args.threshold} in {100 * c['open_fraction']:.1f} %, longest run"
            f" {c['longest_open_run_s']:.2f} s, {c['yawn_events_at_yawn_min_s']} yawn events at"
            f" yawn_min_s {cfg.fatigue.yawn_min_s} s, latency p50 {c['yawn_prob_latency_ms'].get('p50')} ms"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
