"""Train, quantize and evaluate the yawn model on YawDD frames, split by clip (group).

Usage::

    python -m conversion.yawn --threads 1                   # full recipe → models/yawn.tflite
    python -m conversion.yawn --limit 160 --epochs 2 --fer-negatives 0 --out-model /tmp/yawn.tflite

YawDD (Abtahi et al. 2014) in-car frames, grey 320×240, labelled ``yawn`` / ``no_yawn``; frames
of one clip share a ``group`` and are near-identical, so the split is made over groups
(60/20/20, fixed seed, stratified by the groups' labels), and no clip contributes to two splits.
Faces are found by the device's :class:`edge_monitor.faces.HaarFaceDetector` with settings for
this dataset (:func:`dataset_detector`: the camera sits on the mirror, faces are turned and
small). Where the frontal cascade finds nothing, the turned-face cascade is tried, as on the
device (:func:`edge_monitor.faces.find_face`): about a quarter of YawDD's frames show a face only
the profile cascade finds. :func:`edge_monitor.crops.mouth_pixels` cuts the lower face out of each
box, exactly as :class:`edge_monitor.mouth.YawnEstimator` does on the device. Frames without any
face have no crop: they are left out of training and validation, and reported on test three
ways (accuracy on the frames with a face; with the faceless ones counted as errors; and with them
read as "no yawn", which is what the device reports without a face).

Training adds 1,500 FER2013 training faces of happy / sad / neutral expressions as ``no_yawn``
mouth crops (``--fer-negatives``): YawDD has few smiles and frontal talking mouths, and without
them the model reads a talking mouth showing teeth as a yawn (about 60 % of the frames of the
talking clip ``woman2.mp4`` on Haar-box crops; ``benchmarks/yawn_clips.py`` replays it through the
daemon's pipeline: the shipped model and the decisions). Validation and test are YawDD only.

The model is selected on ``val``; ``test`` is only reported. The int8 model is checked through
the device's runtime (:class:`edge_monitor.inference.TfliteClassifier`).

Landmark crops (``--crops landmarks``, the default since issue 15): the faces are found by the
device's default detector (BlazeFace), the face landmarks are computed on each box, and the mouth
crop is :func:`edge_monitor.crops.mouth_patch` of them, as on the device with a landmark model;
training crops come from jittered landmarks, FER negatives go through the landmark model too, and
half of the training crops get the night (NoIR) look (``--night``, :mod:`conversion.night`). The
group split (seed 7) is the one fixed before. Test (int8): 97.86 % of 281 frames with a face,
97.17 % of all 283 frames (the model before, on Haar-box crops: 93.77 % / 90.46 %); night-like
96.44 %; FER2013 non-yawning faces read as yawning 2.4 %.

Writes ``--out-model`` (``.tflite``) with its metadata beside it (``.json``), and to
``--reports``: ``evaluation.json``, ``confusion_test_int8.png``, ``history.csv`` and
``training_curves.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from conversion import metrics
from conversion.common import (
    BestWeights,
    add_cnn_recipe_args,
    class_weights,
    compare_float_int8,
    compile_cosine,
    run_main,
    set_tf_threads,
)
from conversion.dataset import Split
from conversion.night import night_like, night_share
from conversion.paths import MODELS, REPO, fer2013_path, shared_dir
from edge_monitor import mesh
from edge_monitor.config import DetectorConfig, load_config
from edge_monitor.crops import MOUTH_REGION, MouthRegion, model_input, mouth_patch, mouth_pixels
from edge_monitor.errors import DatasetError
from edge_monitor.faces import HaarFaceDetector, find_face
from edge_monitor.metadata import ModelMetadata
from edge_monitor.types import FaceBox

YAWN_LABELS = ("no_yawn", "yawn")  # output order; index.csv's label names map onto it
YAWN_SIZE = (32, 32)  # model input (width, height)
SPLIT_NAMES = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.60, 0.20, 0.20)
MIN_CALIBRATION = 300

# Haar settings for YawDD (the device's defaults stay as they are). The mirror-mounted camera
# sees turned and tilted faces of 70-145 px in a 240 px high frame: the default cascade at
# scaleFactor 1.1 / minNeighbors 5 finds a face in about half the frames, and loosening it
# mostly adds boxes on windows and shoulders. frontalface_alt2 at 1.03 / 3 finds ~71 % with few
# wrong boxes (checked by eye on samples); faces under 27 % of the height do not occur here.
DATASET_DETECTOR = {
    "cascade": "haarcascade_frontalface_alt2.xml",
    "scale_factor": 1.03,
    "min_neighbors": 3,
    "min_face_frac": 0.27,
}


def yawdd_path() -> Path:
    """The YawDD frame folder in the shared data."""
    return shared_dir() / "datasets" / "yawdd_frames"


def default_reports(out_model: Path) -> Path:
    """``reports/yawn`` for the shipped model; ``<stem>_report`` beside any other ``--out-model``."""
    if out_model.resolve() == (MODELS / "yawn.tflite").resolve():
        return REPO / "reports" / "yawn"
    return out_model.with_name(f"{out_model.stem}_report")


def dataset_detector(base: DetectorConfig | None = None) -> DetectorConfig:
    """The detector settings used on YawDD: the device's config with :data:`DATASET_DETECTOR`."""
    return dataclasses.replace(base or load_config().detector, **DATASET_DETECTOR)


@dataclass(frozen=True)
class YawnFrames:
    """The frame index: relative paths (N,), labels (N,) int64 (0 no_yawn, 1 yawn), groups (N,)."""

    root: Path
    path: np.ndarray
    y: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, idx: np.ndarray) -> YawnFrames:
        """The rows ``idx``."""
        return YawnFrames(self.root, self.path[idx], self.y[idx], self.group[idx])


def load_index(root: str | Path) -> YawnFrames:
    """Read ``index.csv`` (path, label, group) of the YawDD frame folder and check it.

    Raises:
        DatasetError: The folder or index is missing, a column or label is wrong, or an image
            named by the index does not exist.
    """
    p = Path(root)
    if not p.is_dir():
        raise DatasetError(f"dataset not found: {p}; pass --data with the yawdd_frames folder")
    index = p / "index.csv"
    if not index.is_file():
        raise DatasetError(f"{index} is missing; the yawdd_frames folder needs its index.csv")
    try:
        with index.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = set(reader.fieldnames or ())
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{index} is not a readable CSV ({exc}); copy yawdd_frames again") from None
    if not {"path", "label", "group"} <= fields:
        raise DatasetError(f"{index} has columns {sorted(fields)}; expected path, label, group")
    if not rows:
        raise DatasetError(f"{index} lists no frames")
    bad = sorted({r["label"] for r in rows} - set(YAWN_LABELS))
    if bad:
        raise DatasetError(f"{index} has unknown label(s) {bad}; expected {list(YAWN_LABELS)}")
    missing = [r["path"] for r in rows if not (p / r["path"]).is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} frame(s) listed in {index} are missing, e.g. {missing[0]}")
    return YawnFrames(
        root=p,
        path=np.array([r["path"] for r in rows]),
        y=np.array([YAWN_LABELS.index(r["label"]) for r in rows], np.int64),
        group=np.array([str(r["group"]) for r in rows]),
    )


def read_frames(frames: YawnFrames) -> list[np.ndarray]:
    """The grey frames, in index order.

    Raises:
        DatasetError: A file is not an image OpenCV can read.
    """
    out = []
    for rel in frames.path:
        img = cv2.imread(str(frames.root / rel), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DatasetError(f"{frames.root / rel} is not a readable image; copy yawdd_frames again")
        out.append(img)
    return out


def detect_faces(
    images: list[np.ndarray], detector: HaarFaceDetector, turned: HaarFaceDetector | None = None
) -> list[FaceBox | None]:
    """The driver's face in every frame, or None where none is found (see :func:`find_faces`)."""
    return find_faces(images, detector, turned)[0]


def find_faces(
    images: list[np.ndarray], detector: HaarFaceDetector, turned: HaarFaceDetector | None = None
) -> tuple[list[FaceBox | None], list[bool]]:
    """Per frame, the largest frontal face, else the largest turned face (``turned`` given).

    The device reads a yawn from a turned face too (:mod:`edge_monitor.faces`), so the dataset's
    frames get their box the same way, by :func:`edge_monitor.faces.find_face`.

    Returns:
        The boxes (None: no face) and, per frame, whether the box is frontal.
    """
    found = [find_face(img, detector, turned) for img in images]
    return [b for b, _ in found], [f for _, f in found]


def cached_faces(
    frames: YawnFrames, images: list[np.ndarray], cfg: DetectorConfig, cache: Path | None
) -> tuple[list[FaceBox | None], list[bool]]:
    """:func:`find_faces` with ``cfg`` (frontal and turned), reusing ``cache`` (JSON) when it holds
    the same detector settings and frames; the cache is (re)written otherwise. None: no cache."""
    key = {"detector": dataclasses.asdict(cfg), "paths": frames.path.tolist()}
    if cache is not None and cache.is_file():
        try:
            stored = json.loads(cache.read_text(encoding="utf-8"))
            if {k: stored.get(k) for k in key} == key:
                boxes = [FaceBox(*b) if b else None for b in stored["boxes"]]
                return boxes, [bool(f) for f in stored["frontal"]]
        except (OSError, ValueError, TypeError, KeyError):
            pass  # unreadable or stale: detect again
    faces, frontal = find_faces(images, HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        boxes = [[f.x, f.y, f.w, f.h] if f else None for f in faces]
        cache.write_text(json.dumps({**key, "boxes": boxes, "frontal": frontal}), encoding="utf-8")
    return faces, frontal


def split_by_group(
    groups: np.ndarray,
    labels: np.ndarray,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Row indices of train / val / test, drawn over whole groups, stratified by group label.

    Groups are sorted into strata (all ``no_yawn``, all ``yawn``, mixed); within a stratum they
    are shuffled with ``seed`` and each goes to the split furthest below its share of the
    stratum's frames, so every split gets about ``fractions`` of each stratum's frames and no
    group falls into two splits.

    Returns:
        ``{"train": idx, "val": idx, "test": idx}``, each sorted.

    Raises:
        ValueError: ``fractions`` are not three positive shares summing to 1.
        DatasetError: Fewer than 3 groups.
    """
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    unique, inverse = np.unique(groups, return_inverse=True)
    if len(unique) < 3:
        raise DatasetError(f"only {len(unique)} groups; a group split needs at least 3")
    size = np.bincount(inverse).astype(np.float64)
    yawn_share = np.bincount(inverse, weights=labels).astype(np.float64) / size
    stratum = np.where(yawn_share == 0.0, 0, np.where(yawn_share == 1.0, 1, 2))
    rng = np.random.default_rng(seed)
    share = np.asarray(fractions, np.float64)
    assign = np.full(len(unique), -1)
    for s in range(3):
        members = rng.permutation(np.flatnonzero(stratum == s))
        taken = np.zeros(3)
        total = size[members].sum()
        for g in members:
            k = int(np.argmax((share * total - taken) / share))
            assign[g] = k
            taken[k] += size[g]
    row_split = assign[inverse]
    out = {name: np.flatnonzero(row_split == k) for k, name in enumerate(SPLIT_NAMES)}
    seen = [set(groups[out[k]].tolist()) for k in SPLIT_NAMES]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2]), "a group crosses splits"
    assert sum(len(v) for v in out.values()) == len(groups)
    return out


def subset(frames: YawnFrames, n: int, seed: int) -> YawnFrames:
    """A random subset of at most ``n`` frames (smoke runs)."""
    if n <= 0 or n >= len(frames):
        return frames
    return frames.take(np.sort(np.random.default_rng(seed).permutation(len(frames))[:n]))


def jitter_box(face: FaceBox, rng: np.random.Generator, shift: float, scale: float) -> FaceBox:
    """``face`` moved by up to ``shift`` of its size and rescaled by up to ``1 ± scale``.

    Simulates the Haar box's frame-to-frame wobble and the other cascades' box geometry.
    """
    s = 1.0 + rng.uniform(-scale, scale)
    w, h = max(1, round(face.w * s)), max(1, round(face.h * s))
    cx = face.x + face.w / 2.0 + rng.uniform(-shift, shift) * face.w
    cy = face.y + face.h / 2.0 + rng.uniform(-shift, shift) * face.h
    return FaceBox(round(cx - w / 2.0), round(cy - h / 2.0), w, h)


def mouth_crops(
    images: list[np.ndarray],
    faces: list[FaceBox | None],
    rows: np.ndarray,
    size: tuple[int, int],
    region: MouthRegion,
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mouth crops of the frames ``rows`` that have a face (and a usable crop).

    Args:
        jitter: Extra crops per frame from jittered face boxes (training only).

    Returns:
        Crops (M, H, W) uint8, the frame row of each crop (M,) and whether it is the frame's
        own (unjittered) crop (M,).
    """
    rng = np.random.default_rng(seed)
    return _gather_crops(
        images,
        faces,
        rows,
        size,
        jitter,
        lambda face: jitter_box(face, rng, shift, scale),
        lambda img, box: mouth_pixels(img, box, size, region),
    )


def _gather_crops(
    images, keys, rows, size, jitter, jittered, crop
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The crops ``crop(image, key)`` of the frames ``rows`` whose ``keys`` entry (face box or
    landmarks) is not None, plus ``jitter`` crops each from ``jittered(key)``; as :func:`mouth_crops`."""
    xs, src, own = [], [], []
    for r in rows:
        key = keys[r]
        if key is None:
            continue
        variants = [key] + [jittered(key) for _ in range(jitter)]
        for i, v in enumerate(variants):
            pixels = crop(images[r], v)
            if pixels is not None:
                xs.append(pixels)
                src.append(r)
                own.append(i == 0)
    w, h = size
    x = np.stack(xs) if xs else np.zeros((0, h, w), np.uint8)
    return x, np.asarray(src, np.int64), np.asarray(own, bool)


# FER2013 expressions whose mouth is not yawning (surprise, fear and angry often gape like a yawn).
FER_NEGATIVE_CLASSES = ("happy", "sad", "neutral")


def fer_negatives(path: Path, split: str, n: int, seed: int) -> np.ndarray:
    """``n`` FER2013 faces (48×48 uint8) of :data:`FER_NEGATIVE_CLASSES` from ``split``.

    Talking and smiling faces with teeth showing are what the yawn model confuses; YawDD has few
    of them, FER2013 many. Drawn at random with ``seed`` (``n`` <= 0: none).
    """
    from conversion.dataset import FER_CLASSES, clean_train, load_fer2013

    if n <= 0:
        return np.zeros((0, 48, 48), np.uint8)
    splits = load_fer2013(path)
    part = clean_train(splits.train)[0] if split == "train" else getattr(splits, split)
    keep = np.isin(part.y, [FER_CLASSES.index(c) for c in FER_NEGATIVE_CLASSES])
    x = part.x[keep]
    return x[np.sort(np.random.default_rng(seed).permutation(len(x))[:n])]


def fer_mouth_crops(
    faces: np.ndarray,
    size: tuple[int, int],
    region: MouthRegion,
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Mouth crops of aligned 48×48 FER faces, the whole image taken as the face box.

    The faces are padded (edge pixels repeated) so a region reaching below the chin keeps its
    shape instead of being clipped.
    """
    pad = int(np.ceil(max(0.0, region.bottom - 1.0, -region.top, region.right - 1.0, -region.left) * 48))
    pad += int(np.ceil((shift + scale) * 48)) + 1
    padded = [cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REPLICATE) for f in faces]
    box = FaceBox(pad, pad, 48, 48)
    x, _, _ = mouth_crops(
        padded, [box] * len(padded), np.arange(len(padded)), size, region, jitter, shift, scale, seed
    )
    return x


def face_points(images: list[np.ndarray], faces: list[FaceBox | None], landmarker) -> list[np.ndarray | None]:
    """The face-mesh landmarks (468, 2) of every frame's face box, as the device computes them;
    None without a box, or where the landmark model rejects it (face score under its minimum)."""
    out: list[np.ndarray | None] = []
    for img, face in zip(images, faces, strict=True):
        if face is None:
            out.append(None)
            continue
        bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img
        g = landmarker.geometry(bgr, face)
        out.append(None if g is None else g.points)
    return out


def jitter_points(points: np.ndarray, rng: np.random.Generator, shift: float, scale: float) -> np.ndarray:
    """``points`` scaled about their centre by up to ``1 ± scale`` and moved by up to ``shift`` of the
    outer-eye-corner distance: the landmark model's frame-to-frame wobble, for training crops."""
    centre = points.mean(axis=0)
    eyes = float(np.hypot(*(points[mesh.RIGHT_EYE[0]] - points[mesh.LEFT_EYE[0]])))
    move = rng.uniform(-shift, shift, 2) * eyes
    return ((points - centre) * (1.0 + rng.uniform(-scale, scale)) + centre + move).astype(np.float32)


def landmark_mouth_crops(
    images: list[np.ndarray],
    points: list[np.ndarray | None],
    rows: np.ndarray,
    size: tuple[int, int],
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`mouth_crops`, with the device's landmark-centred crop
    (:func:`edge_monitor.crops.mouth_patch`) and jittered landmarks instead of jittered boxes."""
    rng = np.random.default_rng(seed)
    return _gather_crops(
        images,
        points,
        rows,
        size,
        jitter,
        lambda pts: jitter_points(pts, rng, shift, scale),
        lambda img, pts: mouth_patch(img, pts, size),
    )


def fer_landmark_mouth_crops(
    faces: np.ndarray,
    size: tuple[int, int],
    landmarker,
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Landmark-centred mouth crops of aligned 48×48 FER faces (the image is the face box; padded
    by repeating the edge so the landmark crop's margin sees a face-like surround)."""
    pad = 24
    padded = [cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REPLICATE) for f in faces]
    pts = face_points(padded, [FaceBox(pad, pad, 48, 48)] * len(padded), landmarker)
    x, _, _ = landmark_mouth_crops(padded, pts, np.arange(len(padded)), size, jitter, shift, scale, seed)
    return x


def yawn_metadata(size: tuple[int, int], region: MouthRegion, **extra: Any) -> ModelMetadata:
    """Metadata of the yawn model: labels, input size, normalisation and the mouth region."""
    return ModelMetadata(
        name="yawn",
        labels=YAWN_LABELS,
        input_width=size[0],
        input_height=size[1],
        colour="gray",
        scale=1.0 / 127.5,
        offset=-1.0,
        extra={"mouth_region": region.to_dict(), **extra},
    )


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``y == 1`` (ties count half); 0.5 if one class."""
    y = np.asarray(y).astype(bool)
    pos, neg = score[y], score[~y]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.yawn", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=yawdd_path(), help="the yawdd_frames folder")
    p.add_argument("--out-model", type=Path, default=MODELS / "yawn.tflite", help="int8 .tflite to write")
    p.add_argument(
        "--reports",
        type=Path,
        default=None,
        help="report folder (default: reports/yawn for the shipped model, else <stem>_report beside it)",
    )
    add_cnn_recipe_args(p, epochs=40, widths=[16, 32, 64], convs=[1, 2, 2])
    p.add_argument("--size", type=int, nargs=2, default=list(YAWN_SIZE), metavar=("W", "H"), help="input")
    p.add_argument(
        "--region",
        type=float,
        nargs=4,
        default=[MOUTH_REGION.left, MOUTH_REGION.right, MOUTH_REGION.top, MOUTH_REGION.bottom],
        metavar=("LEFT", "RIGHT", "TOP", "BOTTOM"),
        help="mouth region as fractions of the face box (0 0 1 1 = the whole face)",
    )
    p.add_argument(
        "--crops",
        choices=("landmarks", "box"),
        default="landmarks",
        help="mouth crops centred on the face landmarks (as the device with a landmark model) or"
        " placed in the face box (--region)",
    )
    p.add_argument(
        "--night",
        type=float,
        default=0.5,
        help="share of the training crops given the night (NoIR) look of night_like(); 0 = none",
    )
    p.add_argument("--jitter", type=int, default=8, help="augmentation: extra crops per training frame")
    p.add_argument("--box-shift", type=float, default=0.06, help="jitter: face box shift, fraction of size")
    p.add_argument("--box-scale", type=float, default=0.08, help="jitter: face box scale range 1 ± this")
    p.add_argument("--rotation-deg", type=float, default=8.0, help="augmentation: rotation")
    p.add_argument(
        "--brightness", type=float, default=0.2, help="augmentation: brightness (normalised units)"
    )
    p.add_argument("--contrast", type=float, default=0.3, help="augmentation: contrast factor range 1 ± this")
    p.add_argument(
        "--calibration",
        type=int,
        default=400,
        help=f"int8 calibration crops (>= {MIN_CALIBRATION}; all training crops if fewer)",
    )
    p.add_argument(
        "--fer-negatives",
        type=int,
        default=1500,
        help="add N FER2013 non-yawning faces (talking, smiling) as no_yawn training crops",
    )
    p.add_argument("--fer", type=Path, default=fer2013_path(), help="fer2013.npz (for --fer-negatives)")
    p.add_argument("--seed", type=int, default=7, help="seed of the group split, weights and augmentation")
    p.add_argument("--limit", type=int, default=0, help="use a random subset of N frames (smoke runs)")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0 = all cores)")
    p.add_argument(
        "--faces-cache", type=Path, default=None, help="JSON cache of the face boxes (recipe iterations)"
    )
    return p.parse_args(argv)


def _compare(p_float: np.ndarray, p_int8: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    auc = roc_auc(y, p_int8[:, 1]) if len(y) else 0.5
    return {"crops": len(y), **compare_float_int8(p_float, p_int8, y), "int8_roc_auc": auc}


def _sizes(
    frames: YawnFrames, faces: list[FaceBox | None], frontal: list[bool], rows: np.ndarray
) -> dict[str, int]:
    with_face = np.array([faces[r] is not None for r in rows], bool)
    turned = np.array([faces[r] is not None and not frontal[r] for r in rows], bool)
    y = frames.y[rows]
    return {
        "frames": len(rows),
        "groups": len(np.unique(frames.group[rows])),
        "yawn": int(y.sum()),
        "with_face": int(with_face.sum()),
        "turned": int(turned.sum()),
        "faceless": int((~with_face).sum()),
        "faceless_yawn": int(((~with_face) & (y == 1)).sum()),
    }


def device_detector_check(
    images: list[np.ndarray],
    frames: YawnFrames,
    rows: np.ndarray,
    clf,
    region: MouthRegion,
    landmarker=None,
) -> dict[str, Any]:
    """Test accuracy with the faces found by the device's *default* detector settings instead.

    The model is trained on boxes of :func:`dataset_detector`; this checks it also reads the
    boxes the device's config gives (another cascade and scale step), through the landmarks when
    ``landmarker`` is given.
    """
    cfg = load_config().detector
    faces = detect_faces([images[r] for r in rows], HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg))
    size = clf.meta.input_size
    pts = face_points([images[r] for r in rows], faces, landmarker) if landmarker is not None else None
    correct = n = 0
    for k, (r, face) in enumerate(zip(rows, faces, strict=True)):
        if pts is not None:
            pixels = mouth_patch(images[r], pts[k], size) if pts[k] is not None else None
        else:
            pixels = mouth_pixels(images[r], face, size, region) if face is not None else None
        if pixels is None:
            continue
        n += 1
        correct += int(int(clf.predict_pixels(pixels).argmax()) == int(frames.y[r]))
    return {
        "detector": dataclasses.asdict(load_config().detector),
        "frames": len(rows),
        "with_face": n,
        "int8_accuracy": correct / n if n else 0.0,
        "int8_accuracy_faceless_as_errors": correct / len(rows) if len(rows) else 0.0,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Detect, crop, split, train, select, quantize, verify, evaluate and write everything.

    Returns:
        The test numbers stored in the metadata.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    frames = subset(load_index(args.data), args.limit, args.seed)  # dataset errors before TF
    if args.calibration < MIN_CALIBRATION:
        raise SystemExit(f"--calibration must be at least {MIN_CALIBRATION} crops")
    if args.fer_negatives > 0 and not args.fer.is_file():
        raise DatasetError(
            f"{args.fer} not found (needed for --fer-negatives {args.fer_negatives});"
            " pass --fer with fer2013.npz, or --fer-negatives 0"
        )
    region = MouthRegion(*args.region)
    size = (int(args.size[0]), int(args.size[1]))
    images = read_frames(frames)
    # Landmark crops: the faces as the device finds them (its default detector, BlazeFace: any pose);
    # box crops: the Haar settings tuned for this dataset (DATASET_DETECTOR).
    det_cfg = load_config().detector if args.crops == "landmarks" else dataset_detector()
    t0 = time.monotonic()
    if args.crops == "landmarks":
        from edge_monitor.faces import build_detectors

        faces, frontal = find_faces(images, *build_detectors(det_cfg))
    else:
        faces, frontal = cached_faces(frames, images, det_cfg, args.faces_cache)
    detect_seconds = time.monotonic() - t0
    faceless = sum(f is None for f in faces)
    turned = sum(f is not None and not fr for f, fr in zip(faces, frontal, strict=True))
    print(f"{len(frames)} frames: a turned face in {turned}, no face in {faceless} ({detect_seconds:.0f} s)")

    import keras
    import tensorflow as tf

    from conversion.augment import make_photometric_augmenter
    from conversion.model import build_cnn
    from conversion.quantize import convert_int8, representative_images
    from edge_monitor.inference import TfliteClassifier

    set_tf_threads(args.threads)
    keras.utils.set_random_seed(args.seed)

    idx = split_by_group(frames.group, frames.y, DEFAULT_FRACTIONS, args.seed)
    sizes = {k: _sizes(frames, faces, frontal, v) for k, v in idx.items()}
    print(f"splits by group (seed {args.seed}): {json.dumps(sizes)}")
    landmarker = None
    points: list[np.ndarray | None] = []
    if args.crops == "landmarks":
        from edge_monitor.landmarks import load_landmarker

        landmarker = load_landmarker(load_config())
        t0 = time.monotonic()
        points = face_points(images, faces, landmarker)
        rejected = sum(f is not None and p is None for f, p in zip(faces, points, strict=True))
        print(
            f"landmarks on {len(frames) - faceless} faces, {rejected} rejected ({time.monotonic() - t0:.0f} s)"
        )
    crops = {}
    for name, rows in idx.items():
        extra = args.jitter if name == "train" else 0
        if landmarker is not None:
            crops[name] = landmark_mouth_crops(
                images, points, rows, size, extra, args.box_shift, args.box_scale, args.seed
            )
        else:
            crops[name] = mouth_crops(
                images, faces, rows, size, region, extra, args.box_shift, args.box_scale, args.seed
            )
    x_train, src_train, own_train = crops["train"]
    y_train = frames.y[src_train]
    if not own_train.any() or len(crops["val"][0]) == 0:
        raise DatasetError("no training or validation frame has a detected face; raise --limit")
    meta = yawn_metadata(size, region)
    x_yawdd, y_yawdd = x_train[own_train], y_train[own_train]  # calibration pool: device-like crops
    if args.fer_negatives > 0:
        fer_faces = fer_negatives(args.fer, "train", args.fer_negatives, args.seed)
        if landmarker is not None:
            neg = fer_landmark_mouth_crops(
                fer_faces, size, landmarker, 1, args.box_shift, args.box_scale, args.seed
            )
        else:
            neg = fer_mouth_crops(fer_faces, size, region, 1, args.box_shift, args.box_scale, args.seed)
        x_train = np.concatenate([x_train, neg])
        y_train = np.concatenate([y_train, np.zeros(len(neg), np.int64)])
        print(f"added {len(neg)} FER2013 no_yawn crops to {len(x_yawdd)} YawDD training frames")
    # The false-positive check on faces that are not yawning: FER2013's validation split.
    fer_check = None
    if args.fer.is_file():
        check_faces = fer_negatives(args.fer, "public_test", 1000, args.seed)
        fer_check = (
            fer_landmark_mouth_crops(check_faces, size, landmarker)
            if landmarker is not None
            else fer_mouth_crops(check_faces, size, region)
        )
    if args.night > 0:  # the night (NoIR) look on a share of the training crops
        x_train, pick = night_share(x_train, args.night, np.random.default_rng(args.seed + 11))
        print(f"night look on {int(pick.sum())} of {len(x_train)} training crops")

    # Shift and scale come from the jittered face boxes, which cut real pixels instead of filling.
    augment = make_photometric_augmenter(args.rotation_deg, args.brightness, args.contrast, seed=args.seed)
    weights = class_weights(y_train, len(YAWN_LABELS))
    train_ds = (
        tf.data.Dataset.from_tensor_slices(
            (
                model_input(x_train, meta),
                np.eye(2, dtype=np.float32)[y_train],
                weights[y_train],
            )
        )
        .shuffle(len(x_train), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
        .map(lambda a, b, c: (augment(a), b, c))
        .prefetch(tf.data.AUTOTUNE)
    )
    x_val, src_val, _ = crops["val"]
    val_xy = (model_input(x_val, meta), np.eye(2, dtype=np.float32)[frames.y[src_val]])

    model = build_cnn(
        (size[1], size[0], 1), len(YAWN_LABELS), args.widths, args.convs, args.dropout, name="yawn_cnn"
    )
    per_epoch = int(np.ceil(len(x_train) / args.batch_size))
    steps = per_epoch * args.epochs
    warm = min(steps // 10, per_epoch)
    compile_cosine(model, args.lr, args.lr / 10, steps, warm, args.weight_decay, args.label_smoothing)
    reports = args.reports or default_reports(args.out_model)
    reports.mkdir(parents=True, exist_ok=True)
    best = BestWeights()
    t0 = time.monotonic()
    history = model.fit(
        train_ds,
        validation_data=val_xy,
        epochs=args.epochs,
        callbacks=[best.callback(model), keras.callbacks.CSVLogger(reports / "history.csv")],
        shuffle=False,  # tf.data reshuffles every epoch
        verbose=2,
    )
    train_seconds = time.monotonic() - t0
    model.set_weights(best.weights)
    print(f"trained in {train_seconds:.0f} s; best val accuracy {best.key[0]:.4f} at epoch {best.epoch + 1}")

    # Calibration: unjittered training crops (one per frame), an equal share per class.
    calib_pool = Split(x_yawdd, y_yawdd)
    calib_n = min(args.calibration, len(calib_pool))
    calib = model_input(representative_images(calib_pool, calib_n, args.seed), meta)
    flat = convert_int8(model, calib)
    args.out_model.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out_model.with_suffix(".tflite.tmp")
    tmp.write_bytes(flat)
    clf = TfliteClassifier(tmp, meta, threads=1)
    probs, checks = {}, {}
    for name in ("val", "test"):
        x, src, _ = crops[name]
        y = frames.y[src]
        p_float = (
            model.predict(model_input(x, meta), batch_size=256, verbose=0) if len(x) else np.zeros((0, 2))
        )
        p_int8 = np.stack([clf.predict_pixels(img) for img in x]) if len(x) else np.zeros((0, 2))
        probs[name] = (p_float, p_int8, y)
        checks[name] = _compare(p_float, p_int8, y)
        # The same crops given the night look (fixed seed): how the model holds up at night.
        dark = night_like(x, np.random.default_rng(args.seed + 13))
        p_dark = np.stack([clf.predict_pixels(img) for img in dark]) if len(dark) else np.zeros((0, 2))
        checks[name]["int8_accuracy_night_like"] = float((p_dark.argmax(1) == y).mean()) if len(y) else 0.0
    device_check = device_detector_check(images, frames, idx["test"], clf, region, landmarker)
    talking = None
    if fer_check is not None:
        p_fer = np.stack([clf.predict_pixels(img) for img in fer_check])[:, 1]
        talking = {
            "images": len(fer_check),
            "classes": list(FER_NEGATIVE_CLASSES),
            "int8_yawn_rate": float((p_fer >= 0.5).mean()),
            "int8_mean_prob": float(p_fer.mean()),
        }
    clf.close()

    p_float, p_int8, y_test = probs["test"]
    test = checks["test"]
    n_test = sizes["test"]["frames"]
    correct_q = int((p_int8.argmax(1) == y_test).sum())
    correct_f = int((p_float.argmax(1) == y_test).sum())
    scored = np.zeros(len(frames), bool)
    scored[crops["test"][1]] = True
    faceless_no_yawn = int(sum(1 for r in idx["test"] if not scored[r] and frames.y[r] == 0))
    turned_test = np.array([not frontal[r] for r in crops["test"][1]], bool)
    test |= {
        "images": len(y_test),  # frames scored: a face and a usable mouth crop
        "groups": len(np.unique(frames.group[crops["test"][1]])),
        "frames": n_test,
        "faceless_frames": n_test - len(y_test),  # no face detected, or no usable mouth crop
        "float_accuracy_faceless_as_errors": correct_f / n_test if n_test else 0.0,
        "int8_accuracy_faceless_as_errors": correct_q / n_test if n_test else 0.0,
        # What the device reports for a frame without a face is "no yawn": right for no_yawn frames.
        "int8_accuracy_faceless_as_no_yawn": (correct_q + faceless_no_yawn) / n_test if n_test else 0.0,
        "turned_crops": int(turned_test.sum()),
        "int8_accuracy_turned": (
            float((p_int8.argmax(1) == y_test)[turned_test].mean()) if turned_test.any() else None
        ),
    }
    report_f = metrics.classification_report(y_test, p_float.argmax(1), YAWN_LABELS)
    report_q = metrics.classification_report(y_test, p_int8.argmax(1), YAWN_LABELS)
    png = metrics.plot_confusion(
        np.array(report_q["confusion_matrix"]),
        YAWN_LABELS,
        reports / "confusion_test_int8.png",
        f"yawn int8 · YawDD group-held-out test · acc {report_q['accuracy']:.3f}",
    )
    curves = metrics.plot_history(reports / "history.csv", reports / "training_curves.png")
    recipe = {
        k: (os.path.relpath(v.resolve(), REPO) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("out_model", "reports", "threads", "faces_cache")
        and (k != "fer" or args.fer_negatives > 0)
    }
    out_meta = yawn_metadata(
        size,
        region,
        crop=args.crops,
        dataset="YawDD frames (Abtahi et al. 2014), split by clip group",
        detector=dataclasses.asdict(det_cfg),
        split={"by": "group", "fractions": list(DEFAULT_FRACTIONS), "seed": args.seed, **sizes},
        seed=args.seed,
        recipe=recipe,
        params=int(model.count_params()),
        train_seconds=round(train_seconds, 1),
        detect_seconds=round(detect_seconds, 1),
        epochs_run=len(history.history["loss"]),
        best_epoch=best.epoch + 1,
        cpu_count=os.cpu_count(),
        threads=args.threads or os.cpu_count(),
    )
    out_meta = dataclasses.replace(
        out_meta,
        metrics={
            "test_accuracy": test["int8_accuracy"],
            "test_accuracy_faceless_as_errors": test["int8_accuracy_faceless_as_errors"],
            "test": test,
            "val": checks["val"],
            "test_device_detector": device_check,
            "fer_public_test_non_yawning": talking,
            "float_int8_agreement": test["top1_agreement"],
            "calibration_images": calib_n,
            "file_bytes": len(flat),
        },
    )
    tmp.replace(args.out_model)
    out_meta.save(args.out_model.with_suffix(".json"))
    test_groups = sorted(set(frames.group[idx["test"]].tolist()), key=lambda g: (len(g), g))
    evaluation = {
        "model": str(args.out_model),
        "metadata": out_meta.to_dict(),
        "test_float": report_f,
        "test_int8": report_q,
        "test_groups": test_groups,
        "confusion_png": png.name,
        "curves_png": curves.name,
    }
    (reports / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    print(metrics.format_report(report_q))
    print(
        f"test (int8) accuracy {test['int8_accuracy']:.4f} on {test['crops']} frames with a face"
        f" ({test['int8_accuracy_faceless_as_errors']:.4f} counting {test['faceless_frames']} faceless"
        f" frames as errors), float {test['float_accuracy']:.4f}, agreement {test['top1_agreement']:.4f};"
        f" device detector {device_check['int8_accuracy']:.4f} on {device_check['with_face']} faces;"
        f" FER non-yawning P(yawn)>=0.5: {talking['int8_yawn_rate'] if talking else float('nan'):.4f};"
        f" night-like test {checks['test']['int8_accuracy_night_like']:.4f}, val {checks['val']['int8_accuracy']:.4f}"
        f" (night-like {checks['val']['int8_accuracy_night_like']:.4f});"
        f" wrote {args.out_model} and {reports}"
    )
    return test


def main(argv: list[str] | None = None) -> int:
    return run_main(run, parse_args(argv))


__all__ = [
    "DATASET_DETECTOR",
    "YAWN_LABELS",
    "YawnFrames",
    "dataset_detector",
    "detect_faces",
    "find_faces",
    "load_index",
    "main",
    "mouth_crops",
    "read_frames",
    "run",
    "split_by_group",
    "yawdd_path",
]

if __name__ == "__main__":
    sys.exit(main())
