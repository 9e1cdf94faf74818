"""FER+ labels: aligned row for row with fer2013.npz, the left-out images, the training targets."""

from __future__ import annotations

import numpy as np
import pytest

from conversion.dataset import FER_CLASSES, load_fer2013
from conversion.ferplus import FERPLUS_COLUMNS, FerPlusSplit, load_ferplus
from edge_monitor.errors import DatasetError
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def shared():
    return require_shared("datasets/ferplus.npz"), require_shared("datasets/fer2013.npz")


def _votes(*rows: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(rows), len(FERPLUS_COLUMNS)), np.int16)
    for i, row in enumerate(rows):
        for name, n in row.items():
            out[i, FERPLUS_COLUMNS.index(name)] = n
    return out


def test_distribution_maps_columns_to_fer2013_classes_and_leaves_out_non_faces():
    votes = _votes(
        {"happiness": 9, "unknown": 1},  # happy
        {"anger": 6, "disgust": 3, "fear": 1},  # fear's single vote is annotator noise
        {"NF": 10},  # not a face
        {"unknown": 6, "sadness": 4},  # mostly unknown
        {"contempt": 7, "neutral": 3},  # mostly contempt: not one of the seven classes
        {"surprise": 5, "fear": 5},  # a tie is a fine distribution
    )
    split = FerPlusSplit(votes=votes, majority=np.array([3, 0, -1, -1, -1, -1]))
    dist, keep = split.distribution()
    assert keep.tolist() == [True, True, False, False, False, True]
    k = FER_CLASSES.index
    np.testing.assert_allclose(dist[0], np.eye(7)[k("happy")])
    np.testing.assert_allclose(dist[1, [k("angry"), k("disgust"), k("fear")]], [6 / 9, 3 / 9, 0])
    np.testing.assert_allclose(dist[5, [k("surprise"), k("fear")]], [0.5, 0.5])
    assert not dist[~keep].any()
    np.testing.assert_allclose(dist[keep].sum(axis=1), 1.0)
    assert split.has_majority.tolist() == [True, True, False, False, False, False]


def test_shared_labels_are_aligned_with_the_images(shared):
    ferplus, fer = shared
    labels = load_ferplus(ferplus, fer)
    splits = load_fer2013(fer)
    for name in ("train", "public_test", "private_test"):
        assert len(labels[name]) == len(getattr(splits, name))
    # The counts ../shared/datasets/README.md gives, and its agreement with FER2013's labels.
    assert [int(labels[s].has_majority.sum()) for s in ("public_test", "private_test")] == [3186, 3136]
    test, y = labels["private_test"], splits.private_test.y
    agree = (test.majority == y)[test.has_majority].mean()
    assert 0.62 < agree < 0.72
    happy = test.has_majority & (y == FER_CLASSES.index("happy"))
    assert (test.majority[happy] == y[happy]).mean() > 0.9
    dist, keep = labels["train"].distribution()
    assert 0.97 < keep.mean() < 0.995  # a few percent are mostly unknown / not a face / contempt
    # Where FER+ has a majority, it is the distribution's top class.
    both = keep & labels["train"].has_majority
    assert (dist[both].argmax(1) == labels["train"].majority[both]).all()


def test_misaligned_or_wrong_files_are_dataset_errors(shared, tmp_path):
    ferplus, fer = shared
    with np.load(ferplus) as d:
        arrays = {k: d[k] for k in d.files}
    arrays["row_public_test"] = arrays["row_public_test"][::-1]
    bad = tmp_path / "ferplus.npz"
    np.savez(bad, **arrays)
    with pytest.raises(DatasetError, match=r"not aligned .* on public_test"):
        load_ferplus(bad, fer)
    with pytest.raises(DatasetError, match=r"need fer2013\.npz"):
        load_ferplus(ferplus, tmp_path / "fer2013.csv")
    with pytest.raises(DatasetError, match="not found"):
        load_ferplus(tmp_path / "absent.npz", fer)
    del arrays["votes_train"]
    np.savez(bad, **arrays)
    with pytest.raises(DatasetError, match="lacks votes_train"):
        load_ferplus(bad, fer)
