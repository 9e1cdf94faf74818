"""The four parts of the pipeline benchmark (``device``, ``baseline``, ``sweep``, ``soak``).

Each runs in a process of its own (``python -m benchmarks.pipeline --part ...``), so its thread
settings and peak RSS are its own; :mod:`benchmarks.pipeline` describes them and merges them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.report import ALL_STAGES, face_gaps, face_rates
from benchmarks.stats import percentiles
from benchmarks.timing import FrameClock, LoopedSource, peak_rss_mb, rss_mb, run_daemon, set_threads
from edge_monitor.builder import load_models
from edge_monitor.config import Config, DetectorConfig, FaceConfig
from edge_monitor.crops import crop, model_input, resize_to
from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector, cascade_path
from edge_monitor.outputs.sinks import Sink
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import FaceBox, StepResult

# The usual approach (OpenCV tutorials, ``fer``): full frame, every frame.
BASELINE_HAAR = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (30, 30)}


def _totals(frame_s: list[float], stages: dict[str, list[float]]) -> dict:
    return {
        "frames": len(frame_s),
        "fps": round(len(frame_s) / sum(frame_s), 1),
        "frame_ms": percentiles(frame_s),
        "stages_ms": {name: percentiles(v) for name, v in stages.items()},
    }


def part_device(clips: list[Path], threads_mode: str, repeats: int) -> dict:
    """The daemon's path over every clip, ``repeats`` times, after a warm-up run."""
    interp_threads = set_threads(threads_mode)
    models = load_models(Config(), interp_threads)
    rss_loaded = rss_mb()
    total = FrameClock()
    per_clip = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_daemon(models, VideoFileSource(clips[0]), FrameClock(), Path(tmp) / "warmup.jsonl", max_frames=60)
        for path in clips:
            clock = FrameClock()
            found = None
            for r in range(repeats):
                timed, _ = run_daemon(
                    models, VideoFileSource(path), clock, Path(tmp) / f"{path.stem}.{r}.jsonl"
                )
                if found is None:
                    found = timed.detected
                    scans = (models.tracker.full_scans, models.tracker.roi_scans)
            per_clip[path.name] = face_rates(path.name, found) | {
                "fps": round(len(clock.frame_s) / sum(clock.frame_s), 1),
                "frame_ms": percentiles(clock.frame_s),
                "full_scans": scans[0],
                "roi_scans": scans[1],
            }
            total.frame_s += clock.frame_s
            for name in ALL_STAGES:
                total.stages[name] += clock.stages[name]
    models.close()
    return {
        "threads": threads_mode,
        "opencv_threads": cv2.getNumThreads(),
        "interpreter_threads": interp_threads,
        "repeats": repeats,
        "clips": per_clip,
        "all": _totals(total.frame_s, total.stages),
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


class _Baseline:
    """Full-resolution Haar every frame + the float Keras mini-Xception per face, by TensorFlow."""

    def __init__(self, threads_mode: str) -> None:
        set_threads(threads_mode)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        if threads_mode == "one":
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        from conversion.baselines import mini_xception_metadata, mini_xception_path

        self.tf_version = tf.__version__
        self.meta = meta = mini_xception_metadata()
        self.model = tf.keras.models.load_model(mini_xception_path(), compile=False)
        self.cascade = cv2.CascadeClassifier(str(cascade_path(Config().detector.cascade)))
        self.model(
            np.zeros((1, meta.input_height, meta.input_width, 1), np.float32), training=False
        )  # warm-up
        self.stages: dict[str, list[float]] = {"decode": [], "face_detect": [], "emotion": []}

    def clip(self, path: Path) -> tuple[list[float], list[bool]]:
        """Frame times and face-found flags over one clip (stage times added to ``stages``)."""
        meta, source = self.meta, VideoFileSource(path)
        frame_s, found = [], []
        while True:
            t0 = time.perf_counter()
            frame = source.read()
            if frame is None:
                break
            t1 = time.perf_counter()
            faces = self.cascade.detectMultiScale(frame.gray, **BASELINE_HAAR)
            t2 = time.perf_counter()
            faces = np.asarray(faces).reshape(-1, 4)
            if len(faces):
                boxes = [FaceBox(*(int(v) for v in f)) for f in faces]
                pixels = np.stack([resize_to(crop(frame.gray, b), *meta.input_size) for b in boxes])
                self.model(model_input(pixels, meta), training=False).numpy()
            t3 = time.perf_counter()
            self.stages["decode"].append(t1 - t0)
            self.stages["face_detect"].append(t2 - t1)
            if len(faces):
                self.stages["emotion"].append(t3 - t2)
            frame_s.append(t3 - t0)
            found.append(len(faces) > 0)
        source.close()
        return frame_s, found


def part_baseline(clips: list[Path], threads_mode: str) -> dict:
    """The usual approach (:class:`_Baseline`) over every clip."""
    baseline = _Baseline(threads_mode)
    rss_loaded = rss_mb()
    per_clip = {}
    all_frames: list[float] = []
    for path in clips:
        frame_s, found = baseline.clip(path)
        per_clip[path.name] = face_rates(path.name, found) | {
            "fps": round(len(frame_s) / sum(frame_s), 1),
            "frame_ms": percentiles(frame_s),
        }
        all_frames += frame_s
    return {
        "threads": threads_mode,
        "clips": per_clip,
        "all": _totals(all_frames, baseline.stages),
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tensorflow": baseline.tf_version,
    }


def _sweep_clip(frames: list, candidates: list[tuple[int, float, int]], rows: list[dict], name: str) -> None:
    """Each candidate's tracker over one clip's frames: face flags and detection times into ``rows``."""
    defaults = DetectorConfig()
    for (w, s, n), row in zip(candidates, rows, strict=True):
        cfg = dataclasses.replace(defaults, detect_width_px=w, scale_factor=s, min_neighbors=n)
        tracker = DriverFaceTracker(HaarFaceDetector(cfg), cfg, FaceConfig())
        found, times = [], []
        for t, gray in frames:
            t0 = time.perf_counter()
            _, detected = tracker.update(gray, t)
            times.append(time.perf_counter() - t0)
            found.append(detected)
        row.setdefault("clips", {})[name] = face_rates(name, found)
        row.setdefault("_times", []).extend(times)


def part_sweep(clips: list[Path], candidates: list[tuple[int, float, int]]) -> dict:
    """Face-found rates and tracker time per detector setting, against full resolution every frame.

    The chosen setting is the fastest (median detection time) whose recall on frames with a
    person is within 1 pp of the reference on every clip, with no more false-positive frames.
    """
    set_threads("one")
    defaults = DetectorConfig()
    cascade = cv2.CascadeClassifier(str(cascade_path(defaults.cascade)))
    rows = [{"detect_width_px": w, "scale_factor": s, "min_neighbors": n} for w, s, n in candidates]
    reference = {}
    for path in clips:
        source = VideoFileSource(path)
        frames = []
        while (frame := source.read()) is not None:
            frames.append((frame.t, frame.gray))
        source.close()
        reference[path.name] = face_rates(
            path.name, [len(cascade.detectMultiScale(g, **BASELINE_HAAR)) > 0 for _, g in frames]
        )
        _sweep_clip(frames, candidates, rows, path.name)
    for row in rows:
        row["detect_ms"] = percentiles(row.pop("_times"), qs=(50, 99))
        row.update(face_gaps(row["clips"], reference))
    ok = [r for r in rows if r["worst_gap_pp"] >= -1.0 and r["extra_false_frames"] <= 0]
    chosen = min(ok, key=lambda r: r["detect_ms"]["p50"]) if ok else None
    keys = ("detect_width_px", "scale_factor", "min_neighbors")
    return {
        "reference": reference,
        "candidates": rows,
        "chosen": None if chosen is None else {k: chosen[k] for k in keys},
        "defaults": {k: getattr(defaults, k) for k in keys},
    }


class _SoakSampler(Sink):
    """Every ``interval_s``: RSS, frames, rate and p99 frame time of the frames since the last sample."""

    def __init__(self, clock: FrameClock, start: float, interval_s: float) -> None:
        self.clock, self.start, self.interval_s = clock, start, interval_s
        self.next_t = start + interval_s
        self.samples: list[dict] = []

    def on_frame(self, result: StepResult) -> None:
        now = time.perf_counter()
        if now < self.next_t:
            return
        window = self.clock.frame_s
        self.samples.append(
            {
                "t_s": round(now - self.start, 1),
                "rss_mb": round(rss_mb(), 2),
                "frames": len(window),
                "fps": round(len(window) / sum(window), 1),
                "frame_p99_ms": round(float(np.percentile(window, 99)) * 1000.0, 3),
            }
        )
        self.clock.frame_s = []
        self.next_t += self.interval_s


def part_soak(clip: Path, seconds: float, interval_s: float, warmup_s: float) -> dict:
    """The device path looping over one clip for ``seconds``; RSS and p99 frame time per interval."""
    models = load_models(Config(), set_threads("one"))
    clock = FrameClock(stages=False)
    start = time.perf_counter()
    sampler = _SoakSampler(clock, start, interval_s)
    with tempfile.TemporaryDirectory() as tmp:
        source = LoopedSource(clip, until=start + seconds)
        _, summary = run_daemon(models, source, clock, Path(tmp) / "events.jsonl", also=[sampler])
    models.close()
    samples = sampler.samples
    warm = [s for s in samples if s["t_s"] >= warmup_s] or samples
    return {
        "clip": clip.name,
        "seconds": seconds,
        "frames": summary.frames,
        "loops": source.loops,
        "warmup_s": warmup_s,
        "samples": samples,
        "rss_start_mb": warm[0]["rss_mb"] if warm else None,
        "rss_end_mb": warm[-1]["rss_mb"] if warm else None,
        "rss_growth_mb": round(warm[-1]["rss_mb"] - warm[0]["rss_mb"], 2) if warm else None,
        "frame_p99_ms_max": max((s["frame_p99_ms"] for s in samples), default=None),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
