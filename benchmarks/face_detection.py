"""Face-found rates and costs of the two face detectors (Haar, BlazeFace), and of the landmarks.

Run (about 2 minutes on 2 cores)::

    python -m benchmarks.face_detection

On one thread (OpenCV and LiteRT), as on the Pi, for each ``detector.kind``:

- ``yawdd_frames`` (1,400 in-car frames, every one with a driver): the detector on each still
  frame (for Haar also with its turned-face cascade, which feeds yawns only);
- ``woman2.mp4``, ``single_face.mp4``, ``WolfgangLanger_Pexels.mp4``: the driver-face tracker
  as the daemon runs it (search near the last face, full scans once a second), frame by frame;
- ``face_noface.mov``: the delay from the cut to the animation (frame 75) to ``face_lost``;
- ``no_face.mp4``: frames with a face found (false detections).

Detection time is per frame (p50 / p99); the landmark model's time is per face on the clips.
``interleaved``: the whole pipeline step (decode and sinks excluded) on ``woman2.mp4`` with the old
default (Haar, no landmarks) and the new (BlazeFace + landmarks), frame by frame in turn, so both
see the same load on a shared machine.
Writes ``benchmarks/results/face_detection.json``; the README's "Face detection" section quotes it.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path

import cv2

from benchmarks.machine import describe
from benchmarks.stats import percentiles
from conversion.paths import shared_dir
from edge_monitor.config import Config
from edge_monitor.faces import DriverFaceTracker, build_detectors
from edge_monitor.landmarks import load_landmarker
from edge_monitor.presence import PresenceTracker
from edge_monitor.sources.replay import VideoFileSource

HERE = Path(__file__).resolve().parent
CLIPS = ("fer/woman2.mp4", "pyfeat/single_face.mp4", "pyfeat/WolfgangLanger_Pexels.mp4")
CUT_FRAME = 75  # face_noface.mov cuts from the person to an animation here (tests/test_cli.py)


def _image(kind: str, bgr, gray):
    return bgr if kind == "blazeface" else gray


def yawdd(cfg: Config) -> dict:
    """Face found on each YawDD still frame (frontal detector; Haar also with the turned cascade)."""
    root = shared_dir() / "datasets" / "yawdd_frames"
    with open(root / "index.csv") as f:
        rows = list(csv.DictReader(f))
    frontal, turned = build_detectors(cfg.detector)
    found = either = 0
    times = []
    for row in rows:
        bgr = cv2.imread(str(root / row["path"]))
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        t0 = time.perf_counter()
        hit = bool(frontal.detect(_image(cfg.detector.kind, bgr, gray)))
        times.append(time.perf_counter() - t0)
        found += hit
        either += hit or (turned is not None and bool(turned.detect(gray)))
    n = len(rows)
    out = {"frames": n, "found_pct": round(100 * found / n, 2), "detect_ms": percentiles(times)}
    if turned is not None:
        out["found_with_turned_pct"] = round(100 * either / n, 2)
    return out


def clip(cfg: Config, name: str, landmarks) -> dict:
    """The tracker over one clip: face-found rate, detection and landmark time per frame."""
    frontal, turned = build_detectors(cfg.detector)
    tracker = DriverFaceTracker(frontal, cfg.detector, cfg.face, turned)
    presence = PresenceTracker(cfg.face)
    source = VideoFileSource(shared_dir() / "clips" / name)
    detect_s, landmark_s, detected, lost_t, cut_t = [], [], [], None, None
    while (frame := source.read()) is not None:
        t0 = time.perf_counter()
        box, hit = tracker.update(frame.gray, frame.t, frame.bgr)
        detect_s.append(time.perf_counter() - t0)
        if box is not None and landmarks is not None:
            t0 = time.perf_counter()
            landmarks.geometry(frame.bgr, box)
            landmark_s.append(time.perf_counter() - t0)
        detected.append(hit)
        if frame.index == CUT_FRAME:
            cut_t = frame.t
        event = presence.update(frame.t, frame.index, hit)
        if event is not None and event.kind == "face_lost" and lost_t is None:
            lost_t = event.t
    source.close()
    out = {
        "frames": len(detected),
        "found_pct": round(100 * sum(detected) / len(detected), 2),
        "detect_ms": percentiles(detect_s),
    }
    if landmark_s:
        out["landmarks_ms"] = percentiles(landmark_s)
    if name.endswith("face_noface.mov"):
        out["face_lost_after_cut_s"] = round(lost_t - cut_t, 3) if lost_t is not None and cut_t else None
    return out


def interleaved(clip_name: str = "fer/woman2.mp4", passes: int = 3) -> dict:
    """The whole pipeline step, old default (Haar, no landmarks) against the new (BlazeFace +
    landmarks), frame by frame in turn in one process: both see the same machine load, so the
    ratio holds on a busy machine whose absolute times do not. Both are built by the daemon's
    builder (:mod:`edge_monitor.builder`)."""
    from edge_monitor.builder import load_models

    base = Config()
    configs = {
        "haar, no landmarks": dataclasses.replace(
            base,
            detector=dataclasses.replace(base.detector, kind="haar"),
            landmarks=dataclasses.replace(base.landmarks, enabled=False),
        ),
        "blazeface + landmarks": dataclasses.replace(
            base, detector=dataclasses.replace(base.detector, kind="blazeface")
        ),
    }
    source = VideoFileSource(shared_dir() / "clips" / clip_name)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    models = {name: load_models(cfg) for name, cfg in configs.items()}  # as the daemon builds them
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(passes):
        pipelines = {name: m.pipeline() for name, m in models.items()}  # fresh trackers each pass
        for frame in frames:
            for name, pipeline in pipelines.items():
                t0 = time.perf_counter()
                pipeline.step(frame)
                times[name].append(time.perf_counter() - t0)
    for m in models.values():
        m.close()
    out = {"clip": Path(clip_name).name, "passes": passes}
    for name, t in times.items():
        out[name] = {"step_ms": percentiles(t), "fps": round(len(t) / sum(t), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "results" / "face_detection.json")
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    result: dict = {"machine": describe(), "threads": 1, "detectors": {}}
    for kind in ("haar", "blazeface"):
        cfg = dataclasses.replace(Config(), detector=dataclasses.replace(Config().detector, kind=kind))
        landmarks = load_landmarker(cfg, threads=1) if kind == "blazeface" else None
        r = {"yawdd_frames": yawdd(cfg)}
        for name in (*CLIPS, "pyfeat/face_noface.mov", "pyfeat/no_face.mp4"):
            r[Path(name).name] = clip(cfg, name, landmarks)
        result["detectors"][kind] = r
        print(kind, json.dumps({k: v.get("found_pct") for k, v in r.items()}))
    result["interleaved"] = interleaved()
    print(
        "interleaved",
        json.dumps({k: v.get("fps") for k, v in result["interleaved"].items() if isinstance(v, dict)}),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
