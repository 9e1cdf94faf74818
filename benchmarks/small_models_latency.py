"""Latency of the shipped int8 eye-state and yawn models per crop, on one interpreter thread.

Run: ``python -m benchmarks.small_models_latency`` (writes
``benchmarks/results/small_models_latency.json``; the model card reads it).

Times the device's own call (:meth:`TfliteClassifier.predict_pixels`) on real crops: CEW eye
patches for the eye model (the device calls it once per eye, twice a frame) and YawDD mouth
crops cut from the dataset detector's face boxes for the yawn model, after a warm-up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.machine import describe, write_latencies
from benchmarks.stats import time_model
from edge_monitor.errors import DatasetError
from edge_monitor.inference import load_classifier
from edge_monitor.paths import shipped_models_dir

RESULTS = Path(__file__).resolve().parent / "results"


def eye_crops(n: int) -> np.ndarray:
    """The first ``n`` CEW eye patches (24×24, the model's input size)."""
    from conversion.eyes import cew_path, load_cew

    return np.ascontiguousarray(load_cew(cew_path()).x[:n])


def mouth_crops(n: int) -> np.ndarray:
    """Mouth crops of the first YawDD frames with a face, cut as the device cuts them."""
    from conversion import yawn
    from edge_monitor.faces import HaarFaceDetector, find_face
    from edge_monitor.mouth import YawnEstimator

    frames = yawn.load_index(yawn.yawdd_path())
    cfg = yawn.dataset_detector()
    frontal, turned = HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg)
    est = YawnEstimator(load_classifier(shipped_models_dir() / "yawn.tflite"))
    try:
        out = []
        for start in range(0, len(frames), 50):
            images = yawn.read_frames(frames.take(np.arange(start, min(start + 50, len(frames)))))
            for img in images:
                face, _ = find_face(img, frontal, turned)
                crop = est.mouth_pixels(img, face) if face is not None else None
                if crop is not None:
                    out.append(crop)
            if len(out) >= n:
                break
    finally:
        est.close()
    return np.stack(out[:n])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.small_models_latency", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--crops", type=int, default=300, help="crops per model")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=RESULTS / "small_models_latency.json")
    args = p.parse_args(argv)
    models = shipped_models_dir()
    try:
        crops = {"eye_state": eye_crops(args.crops), "yawn": mouth_crops(args.crops)}
    except DatasetError as exc:
        print(f"error: {exc}")
        return 2
    result = {
        "benchmark": "small_models_latency",
        "machine": describe(),
        "one_thread": {
            name: time_model(models / f"{name}.tflite", x, args.repeats, warmup=100) | {"crops": len(x)}
            for name, x in crops.items()
        },
    }
    timings = {name: r["inference_ms"] for name, r in result["one_thread"].items()}
    write_latencies(args.out, result, timings, per=" per crop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
