"""Latency of the shipped int8 emotion model per face, on one interpreter thread.

Run: ``python -m benchmarks.emotion_latency`` (writes ``benchmarks/results/emotion_latency.json``).

Times the device's own path (:meth:`TfliteClassifier.predict_pixels`: lookup-table quantization,
invoke, dequantization) on real FER2013 private_test faces, after a warm-up, and reports the
median and tail percentiles. Also the crop + resize from a camera-sized face box.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import describe, write_latencies
from benchmarks.stats import percentiles, time_model
from conversion.paths import fer2013_path
from edge_monitor.crops import face_pixels
from edge_monitor.metadata import ModelMetadata
from edge_monitor.paths import shipped_models_dir
from edge_monitor.types import FaceBox

RESULTS = Path(__file__).resolve().parent / "results"


def run(model: Path, faces: np.ndarray, threads: int, repeats: int) -> dict:
    timed = time_model(model, faces, repeats, warmup=200, threads=threads)
    # Crop + resize of a 200x200 face box in a 640x480 frame to the 48x48 input.
    meta = ModelMetadata.load(model.with_suffix(".json"))
    frame = np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8)
    crop = []
    for i in range(2000):
        t0 = time.perf_counter()
        face_pixels(frame, FaceBox(200 + i % 50, 100, 200, 200), meta)
        crop.append(time.perf_counter() - t0)
    return {
        "inference_ms": timed["inference_ms"],
        "crop_resize_ms": percentiles(crop),
        "model_bytes": timed["model_bytes"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.emotion_latency", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--model", type=Path, default=shipped_models_dir() / "emotion.tflite")
    p.add_argument("--data", type=Path, default=fer2013_path())
    p.add_argument("--faces", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS / "emotion_latency.json")
    args = p.parse_args(argv)
    with np.load(args.data) as d:
        faces = np.ascontiguousarray(d["x_private_test"][: args.faces])
    result = {
        "benchmark": "emotion_latency",
        "model": str(args.model.name),
        "machine": describe(),
        "one_thread": run(args.model, faces, threads=1, repeats=args.repeats),
    }
    write_latencies(args.out, result, {"emotion inference": result["one_thread"]["inference_ms"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
