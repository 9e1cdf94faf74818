"""FER+ labels (10 annotators' votes per FER2013 image), aligned row for row with ``fer2013.npz``.

The model keeps FER2013's seven classes in FER2013 order; FER+'s contempt column is dropped
(and with it the images whose emotion votes are mostly contempt, unknown or not a face).
No TensorFlow here.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conversion.dataset import FER_CLASSES
from edge_monitor.errors import DatasetError

SPLITS = ("train", "public_test", "private_test")
FERPLUS_COLUMNS = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
# The FER+ column of each FER2013 class, in FER2013 order.
_COLUMN_OF_CLASS = np.array([4, 5, 6, 1, 3, 2, 0])


@dataclass(frozen=True)
class FerPlusSplit:
    """The FER+ labels of one split.

    Attributes:
        votes: (N, 10) annotator votes in :data:`FERPLUS_COLUMNS` order.
        majority: (N,) FER+'s own majority as a FER2013 class index, -1 where there is none
            (no majority, unknown, not a face, or contempt).
    """

    votes: np.ndarray
    majority: np.ndarray

    def __len__(self) -> int:
        return int(self.votes.shape[0])

    def distribution(self, min_votes: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """Vote distributions over the seven FER2013 classes and which images have one.

        Columns with fewer than ``min_votes`` votes are dropped as annotator noise (FER+'s own
        rule for its majority). An image is kept when, after that, more than half of its votes
        are for one of the seven classes: images mostly voted unknown, not a face or contempt are
        left out.

        Returns:
            ``(dist, keep)``: float32 (N, 7) rows summing to 1 where ``keep`` (zeros elsewhere),
            and the boolean mask (N,).
        """
        v = self.votes.astype(np.float32)
        v[v < min_votes] = 0.0
        emo = v[:, _COLUMN_OF_CLASS]
        total = v.sum(axis=1)
        keep = emo.sum(axis=1) > 0.5 * total
        dist = np.zeros_like(emo)
        dist[keep] = emo[keep] / emo[keep].sum(axis=1, keepdims=True)
        return dist, keep

    @property
    def has_majority(self) -> np.ndarray:
        """Images with a usable majority label (the FER+ test protocol, seven classes)."""
        return self.majority >= 0


def load_ferplus(path: str | Path, fer2013: str | Path) -> dict[str, FerPlusSplit]:
    """Load ``ferplus.npz`` and check it is aligned row for row with ``fer2013.npz``.

    Args:
        path: ``ferplus.npz``.
        fer2013: The ``fer2013.npz`` (version 2, with ``row_<split>`` keys) whose images it labels.

    Returns:
        One :class:`FerPlusSplit` per split name.

    Raises:
        DatasetError: Either file is missing or malformed, or their rows differ.
    """
    p, f = Path(path), Path(fer2013)
    if f.suffix != ".npz":
        raise DatasetError(f"FER+ labels need fer2013.npz (version 2, with row_ keys), not {f}; pass --data")
    fer_rows = _read(f, [f"row_{s}" for s in SPLITS], "fer2013.npz version 2 (row_<split> keys)")
    keys = ["columns"] + [f"{k}_{s}" for s in SPLITS for k in ("votes", "row", "majority_as_fer2013")]
    d = _read(p, keys, "ferplus.npz")
    columns = tuple(str(c) for c in d["columns"])
    if columns != FERPLUS_COLUMNS:
        raise DatasetError(f"{p} has columns {columns}, expected {FERPLUS_COLUMNS}")
    out = {}
    for s in SPLITS:
        votes, rows, maj = d[f"votes_{s}"], d[f"row_{s}"], d[f"majority_as_fer2013_{s}"]
        if votes.ndim != 2 or votes.shape[1] != len(FERPLUS_COLUMNS) or len(rows) != len(votes):
            raise DatasetError(f"{p}: votes_{s} has shape {votes.shape}, expected (N, 10) with N rows")
        if not np.array_equal(rows, fer_rows[f"row_{s}"]):
            raise DatasetError(
                f"{p} is not aligned with {f} on {s} (csv rows differ); use the files of the same release"
            )
        if maj.shape != rows.shape or maj.min(initial=0) < -1 or maj.max(initial=0) >= len(FER_CLASSES):
            raise DatasetError(f"{p}: majority_as_fer2013_{s} is not -1..6 per row")
        out[s] = FerPlusSplit(votes=votes.astype(np.int16), majority=maj.astype(np.int64))
    return out


def majority_labels(ferplus: Path, fer2013: Path, split: str, rows: np.ndarray) -> np.ndarray | None:
    """FER+'s majority label of the rows ``rows`` of FER2013's ``split`` (-1: none); None when there
    are no FER+ labels for ``fer2013`` (the file is absent, or the data is not the npz they align with)."""
    if not Path(ferplus).is_file() or Path(fer2013).suffix != ".npz":
        return None
    return load_ferplus(ferplus, fer2013)[split].majority[rows]


def _read(p: Path, keys: list[str], what: str) -> dict[str, np.ndarray]:
    if not p.is_file():
        raise DatasetError(f"{what} not found: {p}; pass its path")
    try:
        with np.load(p, allow_pickle=False) as d:
            missing = [k for k in keys if k not in d.files]
            if missing:
                raise DatasetError(f"{p} lacks {missing[0]}; expected {what}")
            return {k: d[k] for k in keys}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{p} is not a readable npz ({exc}); download it again") from None
