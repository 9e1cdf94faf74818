"""FER2013 loaders (npz, Kaggle CSV, image folders), their error messages, and clean_train."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from conversion.dataset import FER_CLASSES, Split, clean_train, load_fer2013
from conversion.paths import fer2013_path
from edge_monitor.errors import DatasetError

SPLITS = ("train", "public_test", "private_test")


def require(path: Path) -> Path:
    """Skip when a shared data file is absent, except under ``CI=true`` where it must be there."""
    if path.exists():
        return path
    msg = f"{path} is absent; put FER2013 at ../shared/datasets/fer2013.npz (or set EDGE_MONITOR_SHARED)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {msg}")
    pytest.skip(msg)


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def _write_npz(path: Path, n: int = 7, compressed: bool = False, **override) -> Path:
    arrays = {}
    for i, name in enumerate(SPLITS):
        arrays[f"x_{name}"] = _images(n, i)
        arrays[f"y_{name}"] = (np.arange(n) % 7).astype(np.uint8)
    arrays["classes"] = np.array(FER_CLASSES)
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def _error(path: Path) -> str:
    with pytest.raises(DatasetError) as info:
        load_fer2013(path)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# --- the real file -------------------------------------------------------------------------------


def test_real_npz_matches_the_published_split():
    splits = load_fer2013(require(fer2013_path()))
    # Version 2 of the shared file (raw pixels; ../shared/datasets/README.md gives these counts).
    assert [len(getattr(splits, s)) for s in SPLITS] == [28558, 3579, 3573]
    for s in SPLITS:
        part = getattr(splits, s)
        assert part.x.dtype == np.uint8 and part.x.shape[1:] == (48, 48)
        assert part.y.dtype == np.int64
    assert splits.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert np.bincount(splits.private_test.y).tolist() == [489, 55, 527, 876, 588, 414, 624]
    assert np.bincount(splits.public_test.y).tolist() == [466, 56, 496, 891, 652, 414, 604]
    assert np.bincount(splits.train.y).tolist() == [3969, 435, 4079, 7186, 4796, 3161, 4932]


# --- npz -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip(tmp_path, compressed):
    p = _write_npz(tmp_path / "small.npz", compressed=compressed)
    splits = load_fer2013(p)
    np.testing.assert_array_equal(splits.public_test.x, _images(7, 1))
    assert splits.train.y.tolist() == list(range(7))


def test_npz_missing_array(tmp_path):
    msg = _error(_write_npz(tmp_path / "a.npz", y_private_test=None))
    assert "y_private_test" in msg and "lacks array" in msg


def test_npz_wrong_classes(tmp_path):
    msg = _error(_write_npz(tmp_path / "a.npz", classes=np.array(list(reversed(FER_CLASSES)))))
    assert "classes" in msg


def test_npz_wrong_shape_and_labels(tmp_path):
    assert "expected (N, 48, 48) uint8" in _error(
        _write_npz(tmp_path / "a.npz", x_train=np.zeros((3, 64, 64), np.uint8))
    )
    bad_y = np.array([0, 1, 2, 3, 4, 5, 9], np.uint8)
    assert "labels outside" in _error(_write_npz(tmp_path / "b.npz", y_train=bad_y))
    assert "labels for" in _error(_write_npz(tmp_path / "c.npz", y_train=np.zeros(3, np.uint8)))


def test_npz_random_bytes(tmp_path):
    p = tmp_path / "fer2013.npz"
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    msg = _error(p)
    assert "not a readable npz" in msg and "download it again" in msg


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_npz_truncated(tmp_path, keep):
    good = _write_npz(tmp_path / "good.npz", compressed=True).read_bytes()
    p = tmp_path / "fer2013.npz"
    p.write_bytes(good[: int(len(good) * keep)])
    assert "not a readable npz" in _error(p)


def test_npz_corrupt_member_uncompressed(tmp_path):
    data = bytearray(_write_npz(tmp_path / "good.npz").read_bytes())
    data[5000:5016] = b"\xff" * 16  # inside x_train's pixels: the member's CRC no longer matches
    p = tmp_path / "fer2013.npz"
    p.write_bytes(bytes(data))
    assert "not a readable npz" in _error(p)


def test_npz_corrupt_member_compressed(tmp_path):
    data = bytearray(_write_npz(tmp_path / "good.npz", compressed=True).read_bytes())
    data[200:216] = b"\xff" * 16  # inside x_train's deflate stream
    p = tmp_path / "fer2013.npz"
    p.write_bytes(bytes(data))
    assert "not a readable npz" in _error(p)


# --- layouts and paths ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    msg = _error(tmp_path / "nope.npz")
    assert "not found" in msg and "--data" in msg


def test_unknown_suffix(tmp_path):
    p = tmp_path / "fer2013.txt"
    p.write_text("hello\n")
    msg = _error(p)
    assert "unknown dataset layout" in msg and "fer2013.npz" in msg


# --- Kaggle CSV ----------------------------------------------------------------------------------


def _write_csv(path: Path, rows: list[tuple], header: tuple = ("emotion", "pixels", "Usage")) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _csv_rows() -> list[tuple]:
    rows = []
    for usage, seed in (("Training", 0), ("PublicTest", 1), ("PrivateTest", 2)):
        for i, img in enumerate(_images(3, seed)):
            rows.append((i * 2, " ".join(map(str, img.ravel())), usage))
    return rows


def test_csv_round_trip(tmp_path):
    splits = load_fer2013(_write_csv(tmp_path / "fer2013.csv", _csv_rows()))
    assert [len(getattr(splits, s)) for s in SPLITS] == [3, 3, 3]
    np.testing.assert_array_equal(splits.private_test.x, _images(3, 2))
    assert splits.train.y.tolist() == [0, 2, 4]


def test_csv_missing_column(tmp_path):
    rows = [(e, px) for e, px, _ in _csv_rows()]
    msg = _error(_write_csv(tmp_path / "fer2013.csv", rows, header=("emotion", "pixels")))
    assert "Usage" in msg and "expected emotion,pixels,Usage" in msg


def test_csv_bad_rows(tmp_path):
    rows = _csv_rows()
    rows[4] = (rows[4][0], "1 2 3", rows[4][2])
    assert "3 pixels, expected 2304" in _error(_write_csv(tmp_path / "a.csv", rows))
    rows = _csv_rows()
    rows[0] = (rows[0][0], rows[0][1], "Validation")
    assert "unknown Usage 'Validation'" in _error(_write_csv(tmp_path / "b.csv", rows))
    rows = [r for r in _csv_rows() if r[2] != "PrivateTest"]
    assert "no private_test rows" in _error(_write_csv(tmp_path / "c.csv", rows))
    rows = _csv_rows()
    rows[1] = ("happy", rows[1][1], rows[1][2])
    assert "not a readable FER2013 CSV" in _error(_write_csv(tmp_path / "d.csv", rows))


# --- image folders -------------------------------------------------------------------------------


def _write_tree(root: Path, per_class: int = 2, size: int = 48) -> Path:
    for sub, seed in (("train", 10), ("test", 20)):
        for c, name in enumerate(FER_CLASSES):
            d = root / sub / name
            d.mkdir(parents=True)
            for i in range(per_class):
                img = np.full((size, size), 30 * c + i, np.uint8)
                img[::7] = seed
                cv2.imwrite(str(d / f"{i}.png"), img)
            (d / "notes.txt").write_text("ignored")
    return root


def test_folder_tree(tmp_path):
    splits = load_fer2013(_write_tree(tmp_path / "fer"))
    assert len(splits.train) == 14
    assert len(splits.public_test) == 7 and len(splits.private_test) == 7
    assert np.bincount(splits.train.y).tolist() == [2] * 7
    both = np.concatenate([splits.public_test.y, splits.private_test.y])
    assert np.bincount(both).tolist() == [2] * 7
    # Pixels survive (PNG is lossless) and each image sits under its own class: grey = 30 * class + i.
    assert (splits.train.x[:, 1, 0] // 30).tolist() == splits.train.y.tolist()


def test_folder_tree_resizes_other_sizes(tmp_path):
    splits = load_fer2013(_write_tree(tmp_path / "fer", per_class=1, size=96))
    assert splits.train.x.shape == (7, 48, 48)


def test_folder_without_class_dirs(tmp_path):
    root = tmp_path / "fer"
    for sub in ("train", "test"):
        (root / sub / "misc").mkdir(parents=True)
    msg = _error(root)
    assert "lacks class folder angry/" in msg


def test_folder_without_train(tmp_path):
    (tmp_path / "fer" / "images").mkdir(parents=True)
    assert "lacks train/" in _error(tmp_path / "fer")


def test_folder_unreadable_image(tmp_path):
    root = _write_tree(tmp_path / "fer", per_class=1)
    (root / "train" / "fear" / "broken.png").write_bytes(b"not a png")
    assert "cannot read image" in _error(root)


# --- clean_train and subset ----------------------------------------------------------------------


def test_clean_train_blank_duplicates_conflicts():
    imgs = _images(6, 3)
    x = np.stack(
        [
            imgs[0],
            np.full((48, 48), 128, np.uint8),  # 1 blank
            imgs[0],  # 2 duplicate of 0, same label -> dropped, 0 kept
            imgs[3],
            imgs[3],  # 4 duplicate of 3 with another label -> both dropped
            imgs[5],
            imgs[0],  # 6 third copy of 0 -> dropped
        ]
    )
    y = np.array([1, 2, 1, 3, 4, 5, 1])
    cleaned, stats = clean_train(Split(x, y))
    assert stats == {"blank": 1, "duplicate": 4, "conflicting_groups": 1}
    assert cleaned.y.tolist() == [1, 5]
    np.testing.assert_array_equal(cleaned.x, np.stack([imgs[0], imgs[5]]))


def test_clean_train_keeps_clean_split():
    split = Split(_images(5, 4), np.arange(5))
    cleaned, stats = clean_train(split)
    assert len(cleaned) == 5 and stats == {"blank": 0, "duplicate": 0, "conflicting_groups": 0}


def test_subset_is_deterministic_and_bounded():
    split = Split(_images(50, 5), np.arange(50) % 7)
    a, b = split.subset(10, seed=1), split.subset(10, seed=1)
    assert len(a) == 10
    np.testing.assert_array_equal(a.y, b.y)
    assert split.subset(100) is split
