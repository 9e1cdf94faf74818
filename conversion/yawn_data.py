"""What is the yawn model's own data: YawDD's frame index and its split by clip, the faces found in
the frames, FER2013's non-yawning faces, the metadata and the ROC AUC it is scored with.

YawDD (Abtahi et al. 2014) in-car frames, grey 320×240, labelled ``yawn`` / ``no_yawn``; frames of
one clip share a ``group`` and are near-identical, so the split is made over groups (60/20/20,
fixed seed, stratified by the groups' labels), and no clip contributes to two splits.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from conversion.common import grey_metadata
from conversion.paths import shared_dir
from conversion.skeleton import SPLIT_NAMES, Rows, check_fractions, checked_split, random_rows
from edge_monitor.config import DetectorConfig, load_config
from edge_monitor.crops import MouthRegion
from edge_monitor.errors import DatasetError
from edge_monitor.faces import HaarFaceDetector, find_face
from edge_monitor.metadata import ModelMetadata
from edge_monitor.types import FaceBox

YAWN_LABELS = ("no_yawn", "yawn")  # output order; index.csv's label names map onto it
YAWN_SIZE = (32, 32)  # model input (width, height)
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


def dataset_detector(base: DetectorConfig | None = None) -> DetectorConfig:
    """The detector settings used on YawDD: the device's config with :data:`DATASET_DETECTOR`."""
    return dataclasses.replace(base or load_config().detector, **DATASET_DETECTOR)


@dataclass(frozen=True)
class YawnFrames(Rows):
    """The frame index under ``root``: relative paths (N,), labels (N,) int64 (0 no_yawn, 1 yawn),
    groups (N,)."""

    root: Path
    path: np.ndarray
    y: np.ndarray
    group: np.ndarray


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
    unique, inverse = np.unique(groups, return_inverse=True)
    check_fractions(fractions, len(unique))
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
    return checked_split(groups, {name: np.flatnonzero(row_split == k) for k, name in enumerate(SPLIT_NAMES)})


def subset(frames: YawnFrames, n: int, seed: int) -> YawnFrames:
    """A random subset of at most ``n`` frames (smoke runs)."""
    rows = random_rows(len(frames), n, seed)
    return frames if rows is None else frames.take(rows)


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


def yawn_metadata(
    size: tuple[int, int], region: MouthRegion, contrast: str = "none", **extra: Any
) -> ModelMetadata:
    """Metadata of the yawn model: labels, input size, normalisation (``contrast``: the trainer's
    ``--contrast-norm``) and the mouth region."""
    extra = {"mouth_region": region.to_dict(), **extra}
    return grey_metadata("yawn", YAWN_LABELS, size, extra, contrast=contrast)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``y == 1`` (ties count half); 0.5 if one class."""
    y = np.asarray(y).astype(bool)
    pos, neg = score[y], score[~y]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))
