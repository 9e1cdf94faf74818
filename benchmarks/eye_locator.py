"""Which eye locator reads eye state best on a real clip: geometric squares or Haar eyes.

Run: ``python -m benchmarks.eye_locator`` (writes ``benchmarks/results/eye_locator.json``;
``--png DIR`` also writes crop montages next to CEW patches for a visual check, ``--grid`` scores
a grid of geometric fractions).

The clip is the Wolfgang Langer Pexels clip (eyes closed or squinting ≈ frames 0-90, a hand over
the face ≈ 85-230, then smiling) with per-frame pseudo-labels from a landmark model's eye aspect
ratio. Faces come from the device's own ``HaarFaceDetector`` + ``DriverFaceTracker`` with the
default config. Scored frames: a face box, a pseudo-label of ``open`` or ``closed`` (``partial``
is skipped) and outside the hand-over-face frames. For each locator: accuracy at
``eyes.closed_threshold``, balanced accuracy, ROC AUC of P(closed), mean P(closed) per class and
the per-face cost (locate + crop + two int8 inferences).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.machine import describe, write_result
from conversion.paths import shared_dir
from edge_monitor.config import load_config
from edge_monitor.crops import EYE_CENTER_X_FRAC, EYE_CENTER_Y_FRAC, EYE_SIZE_FRAC, eye_boxes
from edge_monitor.eyes import EyeStateEstimator, GeometricEyeLocator, HaarEyeLocator
from edge_monitor.faces import build_face_tracker
from edge_monitor.inference import load_classifier
from edge_monitor.paths import shipped_models_dir
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.types import FaceBox

RESULTS = Path(__file__).resolve().parent / "results"
CLIP = "clips/pyfeat/WolfgangLanger_Pexels.mp4"
LABELS = "clips/pyfeat/WolfgangLanger_Pexels_eye_labels.csv"
HAND_OVER_FACE = (85, 230)  # frames (inclusive) where a hand covers the face
TILTED_TAIL = 424  # from here the head tilts down while laughing (see main)


@dataclass(frozen=True)
class ClipFace:
    """One frame's grey image, face box and pseudo-label."""

    index: int
    gray: np.ndarray
    face: FaceBox
    label: str


class FractionLocator:
    """Geometric squares at given fractions (for the grid)."""

    def __init__(self, cx: float, cy: float, size: float) -> None:
        self.cx, self.cy, self.size = cx, cy, size

    def locate(self, gray: np.ndarray, face: FaceBox) -> tuple[FaceBox, FaceBox]:
        return eye_boxes(face, self.cx, self.cy, self.size)


def read_labels(path: Path) -> dict[int, str]:
    """Frame index → ``open`` / ``partial`` / ``closed``."""
    with path.open(newline="", encoding="utf-8") as f:
        return {int(r["frame"]): r["eye_pseudo_label"] for r in csv.DictReader(f)}


def clip_faces(clip: Path, labels: dict[int, str]) -> tuple[list[ClipFace], int]:
    """Every frame with a tracked face (default config), and the number of frames read."""
    cfg = load_config()
    tracker = build_face_tracker(cfg.detector, cfg.face)
    source = VideoFileSource(clip)
    faces, n = [], 0
    try:
        while (frame := source.read()) is not None:
            n += 1
            box, _ = tracker.update(frame.gray, frame.t)
            if box is not None:
                faces.append(ClipFace(frame.index, frame.gray, box, labels.get(frame.index, "")))
    finally:
        source.close()
    return faces, n


def scored(face: ClipFace) -> bool:
    """Whether a frame counts: labelled open or closed, and no hand over the face."""
    lo, hi = HAND_OVER_FACE
    return face.label in ("open", "closed") and not lo <= face.index <= hi


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a random positive > a random negative), ties counting one half."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    p, n = positive[:, None], negative[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (len(positive) * len(negative)))


def score(probs: dict[int, float | None], faces: list[ClipFace], threshold: float) -> dict:
    """Accuracy, balanced accuracy, AUC and class means of P(closed) on the scored frames."""
    rows = [(probs[f.index], f.label == "closed") for f in faces if scored(f)]
    missing = sum(p is None for p, _ in rows)
    rows = [(p, c) for p, c in rows if p is not None]
    p = np.array([r[0] for r in rows], np.float64)
    closed = np.array([r[1] for r in rows], bool)
    pred = p >= threshold
    tpr = float(pred[closed].mean()) if closed.any() else float("nan")
    tnr = float((~pred[~closed]).mean()) if (~closed).any() else float("nan")
    return {
        "frames": len(rows),
        "closed_frames": int(closed.sum()),
        "open_frames": int((~closed).sum()),
        "no_prob_frames": missing,
        "accuracy": float((pred == closed).mean()),
        "balanced_accuracy": (tpr + tnr) / 2.0,
        "closed_recall": tpr,
        "open_recall": tnr,
        "auc": roc_auc(p[closed], p[~closed]),
        "mean_p_closed_on_closed": float(p[closed].mean()),
        "mean_p_closed_on_open": float(p[~closed].mean()),
    }


def run_locator(estimator: EyeStateEstimator, faces: list[ClipFace]) -> tuple[dict[int, float | None], dict]:
    """P(closed) per frame, and the per-face cost in ms."""
    for f in faces[:20]:  # warm-up
        estimator.closed_prob(f.gray, f.face)
    probs, times = {}, []
    for f in faces:
        t0 = time.perf_counter()
        probs[f.index] = estimator.closed_prob(f.gray, f.face)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000.0
    cost = {"p50": round(float(np.median(ms)), 3), "p95": round(float(np.percentile(ms, 95)), 3)}
    return probs, cost


def montage(estimator: EyeStateEstimator, faces: list[ClipFace], cew: Path | None, out: Path) -> Path:
    """Crops of closed and open frames (each row: left eye, right eye pairs), then CEW patches."""
    tile = 72

    def big(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, (tile, tile), interpolation=cv2.INTER_NEAREST)

    rows = []
    for label in ("closed", "open"):
        picks = [f for f in faces if scored(f) and f.label == label]
        picks = picks[:: max(1, len(picks) // 6)][:6]
        eyes = [big(e) for f in picks for e in estimator.eye_pixels(f.gray, f.face)]
        if eyes:
            rows.append(np.hstack(eyes + [np.zeros((tile, tile), np.uint8)] * (12 - len(eyes))))
    if cew is not None and cew.exists():
        with np.load(cew) as d:
            x, y = d["x"], d["y"]
        rng = np.random.default_rng(0)
        for c in (0, 1):
            idx = rng.choice(np.flatnonzero(y == c), 12, replace=False)
            rows.append(np.hstack([big(x[i]) for i in idx]))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.vstack(rows))
    return out


def grid(clf, cfg, faces: list[ClipFace]) -> list[dict]:
    """AUC and balanced accuracy of geometric squares over a grid of fractions."""
    out = []
    for cx in (0.28, 0.30, 0.32):
        for cy in (0.36, 0.38, 0.40, 0.42):
            for size in (0.20, 0.24, 0.28, 0.32, 0.36):
                est = EyeStateEstimator(clf, cfg.eyes, FractionLocator(cx, cy, size))
                probs = {f.index: est.closed_prob(f.gray, f.face) for f in faces if scored(f)}
                s = score(probs, faces, cfg.eyes.closed_threshold)
                out.append(
                    {
                        "center_x": cx,
                        "center_y": cy,
                        "size": size,
                        "auc": round(s["auc"], 4),
                        "balanced_accuracy": round(s["balanced_accuracy"], 4),
                    }
                )
    return out


def haar_eye_positions(locator: HaarEyeLocator, faces: list[ClipFace]) -> dict:
    """Median centre and width of the cascade's eye boxes, as fractions of the face box, per side."""
    lo, hi = HAND_OVER_FACE
    found: dict[str, list[tuple[float, float, float]]] = {"image_left": [], "image_right": []}
    for f in faces:
        if lo <= f.index <= hi:
            continue
        for b in locator.detect(f.gray, f.face):
            cx, cy = (b.x + b.w / 2 - f.face.x) / f.face.w, (b.y + b.h / 2 - f.face.y) / f.face.h
            found["image_left" if cx < 0.5 else "image_right"].append((cx, cy, b.w / f.face.w))
    out = {}
    for side, rows in found.items():
        a = np.array(rows).reshape(-1, 3)
        med = np.median(a, axis=0) if len(a) else [float("nan")] * 3
        out[side] = {"n": len(a), "center_x": round(float(med[0]), 3), "center_y": round(float(med[1]), 3)}
        out[side]["width"] = round(float(med[2]), 3)
    return out


def cew_haar_eye_width(cew: Path, n: int = 1000) -> dict:
    """Median width of the cascade's eye box in open-eye CEW patches, as a fraction of the patch.

    With the same fraction measured in face boxes this gives the eye-square size that makes our
    crops the scale of CEW's patches: ``face fraction / patch fraction``.
    """
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_eye.xml"))
    with np.load(cew) as d:
        x = d["x"][d["y"] == 1][:n]
    widths = []
    for patch in x:
        big = cv2.resize(patch, (96, 96), interpolation=cv2.INTER_LINEAR)
        big = cv2.copyMakeBorder(big, 32, 32, 32, 32, cv2.BORDER_REPLICATE)
        found = cascade.detectMultiScale(big, scaleFactor=1.05, minNeighbors=3, minSize=(30, 30))
        if len(found):
            widths.append(max(found, key=lambda r: r[2])[2] / 96.0)
    return {"patches": len(x), "found": len(widths), "eye_width_of_patch": round(float(np.median(widths)), 3)}


def score_locators(clf, cfg, faces: list[ClipFace], png: Path | None) -> tuple[dict, dict, HaarEyeLocator]:
    """The geometric and the Haar eye locator with the eye model over the clip's faces.

    Returns:
        Each locator's scores, each locator's P(closed) per frame, and the Haar locator (its
        cascade's hit counts).
    """
    threshold = cfg.eyes.closed_threshold
    scores: dict[str, dict] = {}
    per_frame: dict[str, dict[int, float | None]] = {}
    haar = HaarEyeLocator()
    for name, locator in (("geometric", GeometricEyeLocator()), ("haar", haar)):
        est = EyeStateEstimator(clf, cfg.eyes, locator)
        probs, cost = run_locator(est, faces)
        per_frame[name] = probs
        scores[name] = score(probs, faces, threshold) | {"per_face_ms": cost}
        # From frame 424 the head tilts and looks down while laughing: the landmark EAR calls these
        # frames open while the lids look lowered, so the labels there are least trustworthy.
        head = [f for f in faces if f.index < TILTED_TAIL]
        scores[name][f"frames_before_{TILTED_TAIL}"] = score(probs, head, threshold)
        if png:
            montage(est, faces, shared_dir() / "datasets" / "cew_eyes.npz", png / f"crops_{name}.png")
    total = haar.found + haar.fallbacks
    scores["haar"]["cascade_hit_rate"] = round(haar.found / total, 4) if total else None
    return scores, per_frame, haar


def haar_eye_sizes(haar: HaarEyeLocator, faces: list[ClipFace]) -> dict:
    """Where the Haar eye boxes sit in the face box, and (with CEW) their width in CEW's patches."""
    positions = haar_eye_positions(haar, faces)
    out: dict = {"haar_eye_positions_in_face": positions}
    cew = shared_dir() / "datasets" / "cew_eyes.npz"
    if cew.exists():
        on_cew = cew_haar_eye_width(cew)
        face_w = np.mean([positions[s]["width"] for s in positions])
        on_cew["size_matching_cew"] = round(float(face_w / on_cew["eye_width_of_patch"]), 3)
        out["haar_eye_width_in_cew"] = on_cew
    return out


def print_summary(result: dict) -> None:
    for name, s in result["locators"].items():
        print(
            f"{name:>9}: accuracy {s['accuracy']:.3f}  balanced {s['balanced_accuracy']:.3f}  AUC {s['auc']:.3f}"
            f"  P(closed) closed {s['mean_p_closed_on_closed']:.2f} / open {s['mean_p_closed_on_open']:.2f}"
            f"  ({s['frames']} frames)  {s['per_face_ms']['p50']:.2f} ms/face"
        )
    print("haar eye boxes in the face box:", json.dumps(result["haar_eye_positions_in_face"]))
    if "haar_eye_width_in_cew" in result:
        print("haar eye width in CEW patches:", json.dumps(result["haar_eye_width_in_cew"]))
    if "geometry_grid" in result:
        best = sorted(result["geometry_grid"], key=lambda r: (-r["auc"], -r["balanced_accuracy"]))[:5]
        print("best geometric fractions:", json.dumps(best))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eye_locator", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, help="eye-state .tflite (default: the shipped one)")
    p.add_argument("--clip", type=Path, default=shared_dir() / CLIP)
    p.add_argument("--labels", type=Path, default=shared_dir() / LABELS)
    p.add_argument("--grid", action="store_true", help="also score a grid of geometric fractions")
    p.add_argument("--png", type=Path, default=None, help="write crop montages to this folder")
    p.add_argument("--out", type=Path, default=RESULTS / "eye_locator.json")
    args = p.parse_args(argv)

    cfg = load_config()
    model = args.model or shipped_models_dir() / "eye_state.tflite"
    clf = load_classifier(model, threads=1)
    faces, n_frames = clip_faces(args.clip, read_labels(args.labels))
    scores, per_frame, haar = score_locators(clf, cfg, faces, args.png)
    result = {
        "benchmark": "eye_locator",
        "model": model.name,
        "model_test_accuracy": clf.meta.metrics.get("test_accuracy"),
        "clip": args.clip.name,
        "frames": n_frames,
        "frames_with_face": len(faces),
        "scored": "pseudo-label open/closed (partial skipped), frames outside hand-over-face 85-230",
        "closed_threshold": cfg.eyes.closed_threshold,
        "geometry": {"center_x": EYE_CENTER_X_FRAC, "center_y": EYE_CENTER_Y_FRAC, "size": EYE_SIZE_FRAC},
        "machine": describe(),
        "locators": scores,
        **haar_eye_sizes(haar, faces),
    }
    result["per_frame"] = [
        {
            "frame": f.index,
            "label": f.label,
            "scored": scored(f),
            **{k: None if v[f.index] is None else round(v[f.index], 4) for k, v in per_frame.items()},
        }
        for f in faces
    ]
    if args.grid:
        result["geometry_grid"] = grid(clf, cfg, faces)
    clf.close()
    write_result(args.out, result)
    print_summary(result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
