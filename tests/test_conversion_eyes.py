"""The eye-state recipe: CEW loading and its errors, the group split, a smoke run, the regression guard."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conversion import eye_data, eyes, eyes_cv
from conversion.skeleton import SPLIT_NAMES
from edge_monitor.contrast import Contrast
from edge_monitor.errors import DatasetError
from edge_monitor.inference import load_classifier
from edge_monitor.metadata import ModelMetadata
from edge_monitor.paths import shipped_models_dir
from tests.conftest import assert_picture, require_shared


@pytest.fixture(scope="module")
def cew():
    return require_shared("datasets/cew_eyes.npz")


def _write_cew(path, n=8, **override):
    arrays = {
        "x": np.random.default_rng(0).integers(0, 256, (n, 24, 24), dtype=np.uint8),
        "y": (np.arange(n) % 2).astype(np.uint8),
        "side": np.array(["L", "R"] * (n // 2)),
        "group": (np.arange(n) // 2).astype(np.int32),
        "name": np.array([f"img{i}.jpg" for i in range(n)]),
    }
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _assert_disjoint(groups, idx):
    sets = {k: set(groups[v].tolist()) for k, v in idx.items()}
    assert not sets["train"] & sets["val"]
    assert not sets["train"] & sets["test"]
    assert not sets["val"] & sets["test"]
    all_rows = np.concatenate(list(idx.values()))
    assert np.array_equal(np.sort(all_rows), np.arange(len(groups)))


def test_group_split_of_cew_has_no_leakage(cew):
    data = eye_data.load_cew(cew)
    assert len(data) == 4846 and set(np.unique(data.y)) == {0, 1}
    idx = eye_data.split_by_group(data.group, eye_data.DEFAULT_FRACTIONS, seed=7)
    _assert_disjoint(data.group, idx)
    n_groups = len(np.unique(data.group))
    shares = [len(np.unique(data.group[idx[k]])) / n_groups for k in SPLIT_NAMES]
    np.testing.assert_allclose(shares, eye_data.DEFAULT_FRACTIONS, atol=0.01)
    # Both eyes of a photo sit in one split.
    left, right = data.side == "L", data.side == "R"
    for k in SPLIT_NAMES:
        g = set(data.group[idx[k]].tolist())
        assert set(data.group[left & np.isin(data.group, list(g))].tolist()) <= g
        assert set(data.group[right & np.isin(data.group, list(g))].tolist()) <= g


def test_group_split_is_seeded():
    groups = np.repeat(np.arange(100), 2)
    a, b = eye_data.split_by_group(groups, seed=1), eye_data.split_by_group(groups, seed=1)
    c = eye_data.split_by_group(groups, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in SPLIT_NAMES)
    assert not np.array_equal(a["test"], c["test"])
    _assert_disjoint(groups, a)
    assert [len(a[k]) for k in SPLIT_NAMES] == [140, 30, 30]


def test_group_split_rejects_bad_input():
    with pytest.raises(ValueError, match="fractions"):
        eye_data.split_by_group(np.arange(10), (0.5, 0.5, 0.0))
    with pytest.raises(DatasetError, match="groups"):
        eye_data.split_by_group(np.zeros(10, int))


def test_missing_dataset_is_a_dataset_error(tmp_path, capsys):
    with pytest.raises(DatasetError, match="not found"):
        eye_data.load_cew(tmp_path / "nope.npz")
    assert eyes.main(["--data", str(tmp_path / "nope.npz"), "--out-model", str(tmp_path / "m.tflite")]) == 50
    assert "cew_eyes.npz" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"group": None}, "lacks array"),
        ({"x": np.zeros((8, 48, 48), np.uint8)}, "expected"),
        ({"y": np.full(8, 3, np.uint8)}, "labels outside"),
        ({"side": np.array(["L"] * 5)}, "side has shape"),
    ],
)
def test_malformed_dataset_is_a_dataset_error(tmp_path, override, match):
    with pytest.raises(DatasetError, match=match):
        eye_data.load_cew(_write_cew(tmp_path / "cew.npz", **override))


def test_corrupt_dataset_is_a_dataset_error(tmp_path):
    bad = tmp_path / "cew_eyes.npz"
    bad.write_bytes(b"not a zip archive at all")
    with pytest.raises(DatasetError, match="not a readable npz"):
        eye_data.load_cew(bad)
    good = _write_cew(tmp_path / "good.npz").read_bytes()
    bad.write_bytes(good[: len(good) // 2])  # truncated download
    with pytest.raises(DatasetError, match="readable npz"):
        eye_data.load_cew(bad)


def _tiny_run(cew, out, *extra: str) -> list[str]:
    """The recipe's code path at a tenth of the work; 2 threads like the other conversion smoke
    tests (TensorFlow fixes its thread count once per process)."""
    argv = ["--data", str(cew), "--out-model", str(out), "--limit", "400", "--epochs", "1", "--threads", "2"]
    return [*argv, "--widths", "8", "16", "--convs", "1", "1", *extra]


@pytest.mark.train
def test_smoke_train_writes_a_loadable_int8_model(cew, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    out = tmp_path / "eye.tflite"
    assert eyes.main(_tiny_run(cew, out, "--contrast-norm", "equalize_hist")) == 0
    clf = load_classifier(out)
    assert clf.input_dtype == np.int8
    meta = clf.meta
    # The option reaches the metadata the device reads (and the recipe); with it, float (the
    # trainer's preprocessing) and int8 (the device's) agree below.
    assert json.loads(out.with_suffix(".json").read_text())["contrast"] == "equalize_hist"
    assert (
        meta.contrast == Contrast("equalize_hist")
        and meta.extra["recipe"]["contrast_norm"] == "equalize_hist"
    )
    assert meta.name == "eye_state" and meta.labels == ("closed", "open")
    assert (meta.input_width, meta.input_height, meta.colour) == (24, 24, "gray")
    assert meta.metrics["test"]["images"] == 400
    assert meta.metrics["calibration_images"] >= 300
    # int8 follows the float network it was converted from on almost every test image
    assert meta.metrics["float_int8_agreement"] >= 0.9
    assert meta.extra["split"]["train"]["images"] == 400 and meta.extra["seed"] == 7
    p = clf.predict_pixels(np.full((24, 24), 120, np.uint8))
    assert p.shape == (2,) and abs(float(p.sum()) - 1.0) < 0.02
    clf.close()
    report = tmp_path / "eye_report"
    evaluation = json.loads((report / "evaluation.json").read_text())
    assert evaluation["test_int8"]["labels"] == ["closed", "open"]
    # The report's accuracy (from its confusion matrix) is the metadata's, computed apart.
    assert evaluation["test_int8"]["accuracy"] == pytest.approx(meta.metrics["test"]["int8_accuracy"])
    (run,) = meta.extra["members"]
    assert run["seed"] == 7 and run["best_epoch"] == 1
    assert_picture(report / "confusion_test_int8.png")


def test_contrast_norm_defaults_to_the_shipped_none_and_is_refused_by_cross_validation(cew, tmp_path):
    assert eyes.parse_args([]).contrast_norm == "none"
    with pytest.raises(SystemExit, match="--contrast-norm"):
        eyes.main(["--data", str(cew), "--cv", "2", "--contrast-norm", "equalize_hist"])
    with pytest.raises(SystemExit):
        eyes.parse_args(["--contrast-norm", "clahe"])  # only the parameterless kinds


def test_small_limit_cannot_calibrate(cew, tmp_path):
    argv = ["--data", str(cew), "--out-model", str(tmp_path / "m.tflite"), "--limit", "100", "--epochs", "1"]
    assert eyes.main(argv) == 50
    assert not (tmp_path / "m.tflite").exists()


def test_shipped_eye_model_keeps_its_recorded_accuracy(cew):
    """Regression guard: the group-held-out test split through the device runtime."""
    path = shipped_models_dir() / "eye_state.tflite"
    meta = ModelMetadata.load(path.with_suffix(".json"))
    recorded = meta.metrics["test"]["int8_accuracy"]
    data = eye_data.load_cew(cew)
    split = meta.extra["split"]
    idx = eye_data.split_by_group(data.group, tuple(split["fractions"]), int(split["seed"]))
    test = data.take(idx["test"])
    assert len(test) == split["test"]["images"]  # the same split the number was measured on
    clf = load_classifier(path)
    pred = np.array([clf.predict_pixels(x).argmax() for x in test.x])
    clf.close()
    accuracy = float((pred == test.y).mean())
    assert accuracy >= recorded - 0.005, f"int8 accuracy {accuracy:.4f} < recorded {recorded:.4f} - 0.5 pp"
    assert recorded >= 0.95


def test_face_accuracy_averages_the_eyes_of_each_photo():
    # closed = label 0; photo 1: both closed, one eye misread (mean 0.55 -> closed, right);
    # photo 2: open, both read open; photo 3: eyes labelled differently -> left out.
    p_closed = np.array([0.9, 0.2, 0.1, 0.3, 0.8, 0.1])
    y = np.array([0, 0, 1, 1, 0, 1])
    groups = np.array([1, 1, 2, 2, 3, 3])
    assert eye_data.face_accuracy(p_closed, y, groups) == (1.0, 2)
    assert eye_data.face_accuracy(np.array([0.4, 0.4]), np.array([0, 0]), np.array([5, 5])) == (0.0, 1)


def test_evaluate_only_reproduces_the_recorded_numbers_and_adds_per_photo_accuracy(cew, tmp_path):
    src = shipped_models_dir() / "eye_state.tflite"
    model = tmp_path / "eye_state.tflite"
    model.write_bytes(src.read_bytes())
    meta = json.loads(src.with_suffix(".json").read_text())
    held_out = [n for n in ("val", "test") if n not in meta["extra"].get("fit_on", ["train"])]
    assert "test" in held_out
    for name in held_out:
        meta["metrics"][name].pop("int8_face_accuracy", None)
    model.with_suffix(".json").write_text(json.dumps(meta))
    assert eyes.main(["--evaluate-only", "--data", str(cew), "--out-model", str(model)]) == 0
    updated = json.loads(model.with_suffix(".json").read_text())["metrics"]
    shipped = json.loads(src.with_suffix(".json").read_text())["metrics"]
    for name in held_out:
        assert updated[name]["int8_accuracy"] == meta["metrics"][name]["int8_accuracy"]
        assert updated[name]["int8_face_accuracy"] == shipped[name]["int8_face_accuracy"]
        assert updated[name]["faces"] == shipped[name]["faces"] > 300

    # A model that is not the one the numbers were recorded for is refused, metadata untouched.
    meta["metrics"]["test"]["int8_accuracy"] = 0.5
    model.with_suffix(".json").write_text(json.dumps(meta))
    assert eyes.main(["--evaluate-only", "--data", str(cew), "--out-model", str(model)]) != 0
    assert json.loads(model.with_suffix(".json").read_text())["metrics"]["test"]["int8_accuracy"] == 0.5


def test_group_folds_cover_every_row_once_and_keep_photos_whole():
    groups = np.repeat(np.arange(23), 2)  # 23 photos, two eyes each
    folds = eyes_cv.group_folds(groups, 5, seed=3)
    assert len(folds) == 5
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(len(groups)))
    sets = [set(groups[f].tolist()) for f in folds]
    assert all(not (a & b) for i, a in enumerate(sets) for b in sets[i + 1 :])
    assert sorted(len(s) for s in sets) == [4, 4, 5, 5, 5]
    assert all(np.array_equal(a, b) for a, b in zip(folds, eyes_cv.group_folds(groups, 5, 3), strict=True))
    with pytest.raises(DatasetError, match="groups"):
        eyes_cv.group_folds(np.arange(3), 5, 0)


def test_cross_validation_pool_is_train_and_val_without_a_test_photo(cew):
    data = eye_data.load_cew(cew)
    idx = eye_data.split_by_group(data.group, eye_data.DEFAULT_FRACTIONS, 7)
    pool = eyes_cv.pool_without_test(data, 7)
    assert len(pool) == len(idx["train"]) + len(idx["val"]) == 4112
    assert not set(pool.group.tolist()) & set(data.group[idx["test"]].tolist())
    assert len(eyes_cv.pool_without_test(data, 7, limit=400)) == 400


@pytest.mark.train
def test_cross_validation_writes_its_report_and_no_model(cew, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    out = tmp_path / "eye.tflite"
    assert eyes.main(_tiny_run(cew, out, "--cv", "2")) == 0
    assert not out.exists()  # cross-validation ships nothing
    report = tmp_path / "eye_report"
    cv = json.loads((report / "cv.json").read_text())
    assert cv["folds"] == 2 and cv["images"] == 400 and sum(f["images"] for f in cv["per_fold"]) == 400
    for kind in ("plain", "flip_average"):
        # Pooled over the folds: every image counted once, so the folds' accuracies weighted by size.
        weighted = sum(f["images"] * f[kind]["per_image"] for f in cv["per_fold"]) / 400
        assert cv["pooled"][kind]["per_image"] == pytest.approx(weighted)
        assert cv["pooled"][kind]["photos"] == len(
            np.unique(eyes_cv.pool_without_test(eye_data.load_cew(cew), 7, 400).group)
        )
    assert sorted(p.name for p in (report / "cv").iterdir()) == ["history_fold0.csv", "history_fold1.csv"]


@pytest.mark.train
def test_cnn_ends_in_global_average_pooling_over_the_last_width():
    pytest.importorskip("keras", reason="the network needs the train extra (Keras)")
    from conversion.model import build_cnn

    net = build_cnn((24, 24, 1), 2, (8, 16), (1, 2))
    assert net.get_layer("gap").output.shape[-1] == 16
    assert [layer.name for layer in net.layers if "conv" in layer.name] == [
        "b0_conv0",
        "b1_conv0",
        "b1_conv1",
    ]
    assert net.output.shape[-1] == 2
    with pytest.raises(ValueError, match="same length"):
        build_cnn((24, 24, 1), 2, (8, 16), (1,))
