"""FER2013 loading from the three layouts users have: the npz, Kaggle's CSV, image folders.

All loaders return :class:`Splits` of uint8 48x48 grey images and integer labels in the FER2013
order (angry, disgust, fear, happy, sad, surprise, neutral). No TensorFlow here.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_monitor.errors import DatasetError

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_SIZE = 48
_CSV_USAGE = {"Training": "train", "PublicTest": "public_test", "PrivateTest": "private_test"}
_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}


@dataclass(frozen=True)
class Split:
    """Images (N, 48, 48) uint8 and labels (N,) int64 of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, n: int, seed: int = 0) -> Split:
        """A class-stratified random subset of at most ``n`` images (for smoke runs)."""
        if n >= len(self):
            return self
        idx = self.subset_index(n, seed)
        return Split(self.x[idx], self.y[idx])

    def subset_index(self, n: int, seed: int = 0) -> np.ndarray:
        """The rows :meth:`subset` takes (all rows if ``n`` covers the split)."""
        if n >= len(self):
            return np.arange(len(self))
        rng = np.random.default_rng(seed)
        return np.sort(rng.permutation(len(self))[:n])


@dataclass(frozen=True)
class Splits:
    """train (fit), public_test (tune/select), private_test (report)."""

    train: Split
    public_test: Split
    private_test: Split
    classes: tuple[str, ...] = FER_CLASSES

    def part(self, name: str, limit: int = 0, seed: int = 0) -> tuple[Split, np.ndarray]:
        """The split ``name``, or a random ``limit`` of its images (smoke runs), and its rows."""
        split: Split = getattr(self, name)
        rows = split.subset_index(limit, seed) if limit else np.arange(len(split))
        return Split(split.x[rows], split.y[rows]), rows


def load_fer2013(path: str | Path) -> Splits:
    """Load FER2013 from an ``.npz``, Kaggle's ``fer2013.csv`` or an image-folder tree.

    The image-folder layout is ``train/<class>/*.jpg`` and ``test/<class>/*.jpg``; it has no
    public/private split, so ``test`` is split in half deterministically (first half public).

    Raises:
        DatasetError: The path is missing or is not one of the three layouts.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"dataset not found: {p}; pass --data with the path to fer2013.npz")
    if p.is_dir():
        return _load_folders(p)
    if p.suffix == ".npz":
        return _load_npz(p)
    if p.suffix == ".csv":
        return _load_csv(p)
    raise DatasetError(f"unknown dataset layout: {p}; expected fer2013.npz, fer2013.csv or an image folder")


def _load_npz(p: Path) -> Splits:
    if not zipfile.is_zipfile(p):
        raise DatasetError(f"{p} is not a readable npz (not a zip archive); download it again")
    try:
        with np.load(p, allow_pickle=False) as d:
            parts = {}
            for name in ("train", "public_test", "private_test"):
                x, y = d[f"x_{name}"], d[f"y_{name}"]
                parts[name] = _checked(x, y, f"{p}:{name}")
            classes = tuple(str(c) for c in d["classes"]) if "classes" in d.files else FER_CLASSES
    except KeyError as exc:
        raise DatasetError(
            f"{p} lacks array {exc}; expected x_/y_ train, public_test, private_test"
        ) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{p} is not a readable npz ({exc}); download it again") from None
    if classes != FER_CLASSES:
        raise DatasetError(f"{p} has classes {classes}, expected {FER_CLASSES}")
    return Splits(**parts)


def _load_csv(p: Path) -> Splits:
    rows: dict[str, tuple[list, list]] = {k: ([], []) for k in _CSV_USAGE.values()}
    try:
        with p.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
            if missing:
                raise DatasetError(f"{p} lacks column(s) {sorted(missing)}; expected emotion,pixels,Usage")
            for i, row in enumerate(reader, start=2):
                split = _CSV_USAGE.get(row["Usage"])
                if split is None:
                    raise DatasetError(f"{p}:{i}: unknown Usage {row['Usage']!r}")
                px = np.array(row["pixels"].split(), dtype=np.uint8)
                if px.size != FER_SIZE * FER_SIZE:
                    raise DatasetError(f"{p}:{i}: {px.size} pixels, expected {FER_SIZE * FER_SIZE}")
                rows[split][0].append(px.reshape(FER_SIZE, FER_SIZE))
                rows[split][1].append(int(row["emotion"]))
    except (UnicodeDecodeError, csv.Error, ValueError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{p} is not a readable FER2013 CSV ({exc})") from None
    parts = {}
    for name, (xs, ys) in rows.items():
        if not xs:
            raise DatasetError(f"{p} has no {name} rows")
        parts[name] = _checked(np.stack(xs), np.array(ys), f"{p}:{name}")
    return Splits(**parts)


def _read_folder(root: Path) -> Split:
    xs, ys = [], []
    for label, name in enumerate(FER_CLASSES):
        d = root / name
        if not d.is_dir():
            raise DatasetError(
                f"{root} lacks class folder {name}/; expected one folder per class {FER_CLASSES}"
            )
        for f in sorted(d.iterdir()):
            if f.suffix.lower() not in _IMAGE_EXT:
                continue
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise DatasetError(f"cannot read image {f}")
            if img.shape != (FER_SIZE, FER_SIZE):
                img = cv2.resize(img, (FER_SIZE, FER_SIZE), interpolation=cv2.INTER_AREA)
            xs.append(img)
            ys.append(label)
    if not xs:
        raise DatasetError(f"no images under {root}")
    return _checked(np.stack(xs), np.array(ys), str(root))


def _load_folders(p: Path) -> Splits:
    for sub in ("train", "test"):
        if not (p / sub).is_dir():
            raise DatasetError(f"{p} lacks {sub}/; expected train/<class>/*.jpg and test/<class>/*.jpg")
    train, test = _read_folder(p / "train"), _read_folder(p / "test")
    # Deterministic half split of test into public (tune) / private (report).
    rng = np.random.default_rng(2013)
    idx = rng.permutation(len(test))
    half = len(test) // 2
    pub, priv = np.sort(idx[:half]), np.sort(idx[half:])
    return Splits(train, Split(test.x[pub], test.y[pub]), Split(test.x[priv], test.y[priv]))


def _checked(x: np.ndarray, y: np.ndarray, where: str) -> Split:
    if x.ndim != 3 or x.shape[1:] != (FER_SIZE, FER_SIZE) or x.dtype != np.uint8:
        raise DatasetError(f"{where}: images have shape {x.shape} {x.dtype}, expected (N, 48, 48) uint8")
    if y.shape != (x.shape[0],):
        raise DatasetError(f"{where}: {y.shape[0]} labels for {x.shape[0]} images")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= len(FER_CLASSES)):
        raise DatasetError(f"{where}: labels outside 0..{len(FER_CLASSES) - 1}")
    return Split(x, y)


def clean_train(split: Split, blank_std: float = 2.0) -> tuple[Split, dict[str, int]]:
    """Drop near-blank images and byte-identical duplicates from a training split.

    Duplicates that carry different labels are all dropped (the label is unknowable); otherwise
    the first copy is kept. Only ever apply this to the training split.

    Returns:
        The cleaned split and counts of what was removed.
    """
    keep, stats = clean_mask(split, blank_std)
    return Split(split.x[keep], split.y[keep]), stats


def clean_mask(split: Split, blank_std: float = 2.0) -> tuple[np.ndarray, dict[str, int]]:
    """The images :func:`clean_train` keeps (boolean mask), and counts of what it removes."""
    std = split.x.reshape(len(split), -1).std(axis=1)
    keep = std >= blank_std
    n_blank = int((~keep).sum())
    seen: dict[bytes, tuple[int, int]] = {}
    conflict: set[bytes] = set()
    dup = np.zeros(len(split), bool)
    for i in range(len(split)):
        if not keep[i]:
            continue
        key = split.x[i].tobytes()
        if key in seen:
            dup[i] = True
            if seen[key][1] != split.y[i]:
                conflict.add(key)
        else:
            seen[key] = (i, int(split.y[i]))
    for key in conflict:
        dup[seen[key][0]] = True
    keep &= ~dup
    stats = {"blank": n_blank, "duplicate": int(dup.sum()), "conflicting_groups": len(conflict)}
    return keep, stats
