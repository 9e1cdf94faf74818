"""The sunglasses check on real frames: plain eyes against the same frames with sunglasses put on.

Run: ``python -m benchmarks.sunglasses`` (writes ``benchmarks/results/sunglasses.json``).

No shared clip shows dark sunglasses, so they are synthesised (:func:`put_on_sunglasses`) on real
frames: two dark lenses (transmitting 8-25 % of the light, as category 2-3 tints do), a bridge,
and a glare band across one lens. :func:`edge_monitor.eyes.eye_darkness` is measured on the eye
squares of the device's path (landmark-centred when the landmark model is present, else the
geometric squares of the Haar box) for the plain and the sunglassed frame, and the configured
``eyes.hidden_dark_ratio`` / ``hidden_max_std`` are scored on both: the share of plain frames
read as hidden and of sunglassed frames read as hidden. Frames: every 5th of the development clips,
every 7th YawDD frame (in-car, grey, varied light). Some YawDD drivers wear real sunglasses: the
plain YawDD frames read as hidden were checked by eye (at the defaults, all 5 of 112 are real
sunglasses, ratio 0.18-0.35; the darkest eyes without sunglasses, backlit, measure 0.41-0.50).
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from benchmarks.machine import describe, write_result
from conversion.paths import shared_dir
from edge_monitor.config import Config, load_config
from edge_monitor.crops import eye_boxes, landmark_eye_boxes
from edge_monitor.eyes import eye_darkness, eyes_look_hidden
from edge_monitor.faces import HaarFaceDetector
from edge_monitor.landmarks import load_landmarker
from edge_monitor.types import FaceBox

RESULTS = Path(__file__).resolve().parent / "results"
CLIPS = ("clips/fer/woman2.mp4", "clips/pyfeat/single_face.mp4", "clips/pyfeat/WolfgangLanger_Pexels.mp4")


def put_on_sunglasses(
    gray: np.ndarray, eyes: tuple[FaceBox, FaceBox], rng: np.random.Generator
) -> np.ndarray:
    """A copy of ``gray`` with dark sunglasses over the two eye squares.

    Lenses are ellipses 1.6 x 1.2 eye squares, joined by a bridge; the tint passes 8-25 % of the
    light plus a little lens grey; a glare band crosses one lens at up to +60 grey levels.
    """
    out = gray.astype(np.float32)
    mask = np.zeros(gray.shape, np.uint8)
    centres = [(round(b.x + b.w / 2), round(b.y + b.h / 2)) for b in eyes]
    for (cx, cy), b in zip(centres, eyes, strict=True):
        cv2.ellipse(mask, (cx, cy), (max(1, round(0.8 * b.w)), max(1, round(0.6 * b.h))), 0, 0, 360, 255, -1)
    cv2.line(mask, centres[0], centres[1], 255, max(1, eyes[0].w // 8))
    lens = mask > 0
    out[lens] = out[lens] * rng.uniform(0.08, 0.25) + rng.uniform(5, 20)
    b = eyes[int(rng.integers(2))]
    band = np.zeros_like(mask)
    cv2.line(band, (b.x, b.y + b.h), (b.x + b.w, b.y), 255, max(1, b.w // 6))
    glare = (band > 0) & lens
    out[glare] += rng.uniform(0, 60)
    return np.clip(out, 0, 255).astype(np.uint8)


def frames(step_clip: int = 5, step_yawdd: int = 7) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(source name, BGR frame, grey frame) of the development clips and YawDD frames."""
    root = shared_dir()
    for rel in CLIPS:
        cap = cv2.VideoCapture(str(root / rel))
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if i % step_clip == 0:
                yield Path(rel).stem, bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            i += 1
        cap.release()
    for p in sorted(glob.glob(str(root / "datasets" / "yawdd_frames" / "*" / "*.jpg")))[::step_yawdd]:
        gray = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
        yield "yawdd", cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray


def eye_squares_finder(cfg: Config):
    """The device's eye squares for a frame: landmark-centred when the landmark model is there."""
    detector = HaarFaceDetector(cfg.detector)
    landmarker = load_landmarker(cfg)  # None when landmarks.enabled is off

    def find(bgr: np.ndarray, gray: np.ndarray) -> tuple[FaceBox, FaceBox] | None:
        faces = detector.detect(gray)
        if not faces:
            return None
        box = max(faces, key=lambda f: f.area)
        if landmarker is not None:
            g = landmarker.geometry(bgr, box)
            if g is not None:
                return landmark_eye_boxes(g.points)
        return eye_boxes(box)

    return find, ("landmarks" if landmarker is not None else "haar_geometric")


def measure(cfg: Config, seed: int = 0) -> dict:
    """Darkness of plain and sunglassed eye regions per source, and the check's hit rates."""
    rng = np.random.default_rng(seed)
    find, how = eye_squares_finder(cfg)
    per: dict[str, dict[str, list]] = {}
    for name, bgr, gray in frames():
        eyes = find(bgr, gray)
        if eyes is None:
            continue
        plain = eye_darkness(gray, eyes)
        dark = eye_darkness(put_on_sunglasses(gray, eyes, rng), eyes)
        if plain is None or dark is None:
            continue
        d = per.setdefault(name, {"plain": [], "sunglasses": []})
        d["plain"].append(plain)
        d["sunglasses"].append(dark)
    out = {}
    for name, d in per.items():
        p, s = np.asarray(d["plain"]), np.asarray(d["sunglasses"])
        out[name] = {
            "frames": len(p),
            "plain_ratio_p1_p5_p50": np.percentile(p[:, 0], [1, 5, 50]).round(3).tolist(),
            "plain_std_p1_p5_p50": np.percentile(p[:, 1], [1, 5, 50]).round(2).tolist(),
            "sunglasses_ratio_p50_p95_p99": np.percentile(s[:, 0], [50, 95, 99]).round(3).tolist(),
            "sunglasses_std_p50_p95_p99": np.percentile(s[:, 1], [50, 95, 99]).round(2).tolist(),
            "plain_read_hidden": float(np.mean([eyes_look_hidden(tuple(v), cfg.eyes) for v in p])),
            "sunglasses_read_hidden": float(np.mean([eyes_look_hidden(tuple(v), cfg.eyes) for v in s])),
        }
    return {
        "eye_squares": how,
        "hidden_dark_ratio": cfg.eyes.hidden_dark_ratio,
        "hidden_max_std": cfg.eyes.hidden_max_std,
        "sources": out,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sunglasses", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=RESULTS / "sunglasses.json")
    args = p.parse_args(argv)
    result = {"machine": describe(), **measure(load_config())}
    write_result(args.out, result)
    for name, r in result["sources"].items():
        print(
            f"{name:28s} {r['frames']:4d} frames  plain read hidden {r['plain_read_hidden']:.3f}"
            f"  sunglasses read hidden {r['sunglasses_read_hidden']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
