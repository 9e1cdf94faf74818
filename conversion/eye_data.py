"""What is the eye-state model's own: CEW's data and its split by photo, the metadata, the network,
and the scores (per eye image, per photo) that ``conversion.eyes`` and ``conversion.eyes_cv`` report.

CEW (Closed Eyes In The Wild, Song et al. 2014) holds 24×24 grey eye patches; the left and right
eye of one photo share a ``group``, and every split keeps a group whole.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conversion.common import grey_metadata
from conversion.dataset import Split
from conversion.night import night_like
from conversion.paths import shared_dir
from conversion.skeleton import (
    Network,
    Rows,
    check_fractions,
    checked_split,
    default_reports,
    predict_device,
    random_rows,
    recipe_of,
)
from edge_monitor.errors import DatasetError
from edge_monitor.metadata import ModelMetadata

EYE_LABELS = ("closed", "open")  # output order; CEW's y (0 = closed, 1 = open) indexes it directly
EYE_SIZE = 24
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)
MIN_CALIBRATION = 300


def cew_path() -> Path:
    """The packed CEW eye patches in the shared data."""
    return shared_dir() / "datasets" / "cew_eyes.npz"


def eye_reports(out_model: Path) -> Path:
    """``reports/eyes`` for the shipped model; ``<stem>_report`` beside any other ``--out-model``."""
    return default_reports(out_model, "eye_state.tflite", "eyes")


def eye_recipe(args) -> dict[str, Any]:
    """The options that made a model or a cross-validation (``conversion.eyes``'s), for its record."""
    return recipe_of(args, ("out_model", "reports", "threads"))


@dataclass(frozen=True)
class EyeData(Rows):
    """CEW: patches (N, 24, 24) uint8, labels (N,) int64 (0 closed, 1 open), side, group, name."""

    x: np.ndarray
    y: np.ndarray
    side: np.ndarray
    group: np.ndarray
    name: np.ndarray

    def split(self) -> Split:
        """Images and labels only (what ``conversion.quantize`` works on)."""
        return Split(self.x, self.y)


def load_cew(path: str | Path) -> EyeData:
    """Load ``cew_eyes.npz`` and check its arrays.

    Raises:
        DatasetError: The file is missing, not a readable npz, lacks an array, or holds arrays of
            the wrong shape, type or label range.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"dataset not found: {p}; pass --data with the path to cew_eyes.npz")
    if not p.is_file() or not zipfile.is_zipfile(p):
        raise DatasetError(f"{p} is not a readable npz (not a zip archive); copy cew_eyes.npz again")
    try:
        with np.load(p, allow_pickle=False) as d:
            x, y, side, group = d["x"], d["y"], d["side"], d["group"]
            name = d["name"] if "name" in d.files else np.array([str(i) for i in range(len(y))])
    except KeyError as exc:
        raise DatasetError(f"{p} lacks array {exc}; expected x, y, side, group (and name)") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{p} is not a readable npz ({exc}); copy cew_eyes.npz again") from None
    if x.ndim != 3 or x.shape[1:] != (EYE_SIZE, EYE_SIZE) or x.dtype != np.uint8:
        raise DatasetError(f"{p}: x has shape {x.shape} {x.dtype}, expected (N, 24, 24) uint8")
    n = x.shape[0]
    for key, arr in (("y", y), ("side", side), ("group", group), ("name", name)):
        if arr.shape != (n,):
            raise DatasetError(f"{p}: {key} has shape {arr.shape}, expected ({n},) like x")
    if n == 0:
        raise DatasetError(f"{p} holds no images")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() > 1:
        raise DatasetError(f"{p}: y holds labels outside 0 (closed) and 1 (open)")
    if not np.issubdtype(group.dtype, np.integer):
        raise DatasetError(f"{p}: group has dtype {group.dtype}, expected integers")
    return EyeData(x, y, side.astype(str), group.astype(np.int64), name.astype(str))


def split_by_group(
    groups: np.ndarray, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS, seed: int = 0
) -> dict[str, np.ndarray]:
    """Row indices of train / val / test, drawn over whole groups.

    The unique groups are shuffled with ``seed`` and cut at the cumulative ``fractions``, so every
    group (a source photo: both its eyes) falls into exactly one split.

    Returns:
        ``{"train": idx, "val": idx, "test": idx}``, each sorted.
    """
    unique = np.unique(groups)
    check_fractions(fractions, len(unique))
    order = np.random.default_rng(seed).permutation(unique)
    cut1 = round(fractions[0] * len(order))
    cut2 = round((fractions[0] + fractions[1]) * len(order))
    cut1, cut2 = min(max(cut1, 1), len(order) - 2), min(max(cut2, cut1 + 1), len(order) - 1)
    parts = {"train": order[:cut1], "val": order[cut1:cut2], "test": order[cut2:]}
    return checked_split(groups, {k: np.sort(np.flatnonzero(np.isin(groups, g))) for k, g in parts.items()})


def subset(data: EyeData, n: int, seed: int) -> EyeData:
    """A random subset of at most ``n`` rows (smoke runs)."""
    rows = random_rows(len(data), n, seed)
    return data if rows is None else data.take(rows)


def eye_metadata(contrast: str = "none", **extra: Any) -> ModelMetadata:
    """Metadata of the eye-state model: labels in output order and the normalisation (scale fixed
    here, ``contrast`` the trainer's ``--contrast-norm``)."""
    return grey_metadata("eye_state", EYE_LABELS, (EYE_SIZE, EYE_SIZE), extra, contrast=contrast)


def face_accuracy(p_closed: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, int]:
    """Accuracy per source photo with P(closed) averaged over its eyes, as the device decides.

    ``edge_monitor.eyes.EyeStateEstimator`` averages P(closed) of the driver's two eyes; a CEW
    group is one photo (both eyes share its label). Groups whose eyes disagree are left out.

    Returns:
        The accuracy and the number of photos counted.
    """
    right = counted = 0
    for g in np.unique(groups):
        rows = groups == g
        labels = np.unique(y[rows])
        if len(labels) != 1:
            continue
        counted += 1
        closed = float(p_closed[rows].mean()) >= 0.5
        right += int(closed == (labels[0] == EYE_LABELS.index("closed")))
    return (right / counted if counted else 0.0), counted


def predict_int8(clf, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The device's probabilities for each crop, plain and averaged with its mirror image."""
    plain = predict_device(clf, images)
    mirror = predict_device(clf, np.ascontiguousarray(images[:, :, ::-1]))
    return plain, (plain + mirror) / 2.0


def scores(p: np.ndarray, part: EyeData) -> dict[str, float]:
    """Per-image and per-photo accuracy of probabilities ``p`` on ``part``."""
    per_photo, photos = face_accuracy(p[:, EYE_LABELS.index("closed")], part.y, part.group)
    return {"per_image": float((p.argmax(1) == part.y).mean()), "per_photo": per_photo, "photos": photos}


def night_accuracy(clf, part: EyeData, seed: int) -> float:
    """Per-image int8 accuracy on ``part`` given the night look (:func:`conversion.night.night_like`,
    fixed seed): how the model reads a NoIR camera's eyes at night."""
    dark = night_like(part.x, np.random.default_rng(seed + 13))
    p = predict_device(clf, dark)
    return float((p.argmax(1) == part.y).mean())


def eye_network(args) -> Network:
    """The eye network of the recipe in ``args``: 24×24 grey in, closed/open out, photometric and
    geometric augmentation (shift, rotation, zoom)."""

    def augment(seed: int):
        from conversion.augment import make_photometric_augmenter

        return make_photometric_augmenter(
            args.rotation_deg, args.brightness, args.contrast, shift=args.shift, zoom=args.zoom, seed=seed
        )

    return Network((EYE_SIZE, EYE_SIZE, 1), len(EYE_LABELS), "eye_cnn", augment)
