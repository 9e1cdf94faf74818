"""The yawn recipe: YawDD index loading and its errors, the group split, a smoke run, the regression guard."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conversion import yawn, yawn_crops
from edge_monitor.config import DetectorConfig
from edge_monitor.contrast import Contrast
from edge_monitor.errors import DatasetError
from edge_monitor.faces import HaarFaceDetector
from edge_monitor.inference import load_classifier
from edge_monitor.metadata import ModelMetadata
from edge_monitor.mouth import YawnEstimator
from edge_monitor.paths import shipped_models_dir
from tests.conftest import assert_picture, require_shared


@pytest.fixture(scope="module")
def yawdd():
    return require_shared("datasets/yawdd_frames")


def _write_frames(root, rows, header="path,label,group"):
    root.mkdir(parents=True, exist_ok=True)
    lines = [header]
    for i, (label, group) in enumerate(rows):
        rel = f"{label}/{i}.jpg"
        (root / label).mkdir(exist_ok=True)
        cv2.imwrite(str(root / rel), np.full((24, 32), 100 + i, np.uint8))
        lines.append(f"{rel},{label},{group}")
    (root / "index.csv").write_text("\n".join(lines) + "\n")
    return root


# --- loading and its errors ----------------------------------------------------------------------


def test_index_loads_labels_and_groups(tmp_path):
    root = _write_frames(tmp_path / "d", [("yawn", 1), ("no_yawn", 1), ("no_yawn", 2)])
    frames = yawn.load_index(root)
    assert len(frames) == 3
    assert frames.y.tolist() == [1, 0, 0]
    assert frames.group.tolist() == ["1", "1", "2"]
    assert [img.shape for img in yawn.read_frames(frames)] == [(24, 32)] * 3


def test_missing_dataset_is_a_dataset_error(tmp_path, capsys):
    with pytest.raises(DatasetError, match="not found"):
        yawn.load_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"index\.csv is missing"):
        yawn.load_index(tmp_path / "empty")
    assert yawn.main(["--data", str(tmp_path / "nowhere")]) == DatasetError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: dataset not found") and "Traceback" not in err


@pytest.mark.parametrize(
    ("rows", "header", "match"),
    [
        ([("yawn", 1)], "file,label,group", "expected path, label, group"),
        ([("sleepy", 1)], "path,label,group", "unknown label"),
        ([], "path,label,group", "lists no frames"),
    ],
)
def test_malformed_index_is_a_dataset_error(tmp_path, rows, header, match):
    root = _write_frames(tmp_path / "d", rows, header)
    with pytest.raises(DatasetError, match=match):
        yawn.load_index(root)


def test_missing_or_unreadable_frame_is_a_dataset_error(tmp_path):
    root = _write_frames(tmp_path / "d", [("yawn", 1), ("no_yawn", 2)])
    (root / "yawn" / "0.jpg").unlink()
    with pytest.raises(DatasetError, match="missing"):
        yawn.load_index(root)
    (root / "yawn" / "0.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="not a readable image"):
        yawn.read_frames(yawn.load_index(root))


# --- the group split -----------------------------------------------------------------------------


def _check_split(groups, labels, idx):
    seen = {k: set(groups[v].tolist()) for k, v in idx.items()}
    assert not (seen["train"] & seen["val"] or seen["train"] & seen["test"] or seen["val"] & seen["test"])
    assert np.array_equal(np.sort(np.concatenate(list(idx.values()))), np.arange(len(groups)))


def test_group_split_of_yawdd_has_no_leakage_and_is_stratified(yawdd):
    frames = yawn.load_index(yawdd)
    idx = yawn.split_by_group(frames.group, frames.y, yawn.DEFAULT_FRACTIONS, seed=7)
    _check_split(frames.group, frames.y, idx)
    for name, share in zip(yawn.SPLIT_NAMES, yawn.DEFAULT_FRACTIONS, strict=True):
        assert len(idx[name]) / len(frames) == pytest.approx(share, abs=0.03), name
        assert frames.y[idx[name]].mean() == pytest.approx(frames.y.mean(), abs=0.06), name


def test_group_split_is_seeded_and_keeps_groups_whole():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), rng.integers(1, 12, 60)).astype(str)
    labels = (rng.random(len(groups)) < 0.5).astype(np.int64)
    a = yawn.split_by_group(groups, labels, seed=1)
    b = yawn.split_by_group(groups, labels, seed=1)
    c = yawn.split_by_group(groups, labels, seed=2)
    _check_split(groups, labels, a)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_group_split_rejects_bad_input():
    g, y = np.array(["a", "b", "c"]), np.array([0, 1, 0])
    with pytest.raises(ValueError, match="fractions"):
        yawn.split_by_group(g, y, (0.5, 0.5, 0.0))
    with pytest.raises(DatasetError, match="at least 3"):
        yawn.split_by_group(np.array(["a", "a", "b"]), y)


def test_jittered_landmarks_keep_their_shape_within_the_set_shift_and_scale():
    from edge_monitor import mesh

    rng = np.random.default_rng(0)
    points = rng.uniform(100, 200, (468, 2)).astype(np.float32)
    span = float(np.hypot(*(points[mesh.RIGHT_EYE[0]] - points[mesh.LEFT_EYE[0]])))
    centre = points.mean(axis=0)
    for _ in range(50):
        moved = yawn_crops.jitter_points(points, rng, shift=0.06, scale=0.08)
        # Scaled about the centre: every offset from it grows by one factor within 1 ± 0.08 ...
        factor = np.linalg.norm(moved - moved.mean(axis=0), axis=1) / np.linalg.norm(points - centre, axis=1)
        assert np.allclose(factor, factor[0], rtol=1e-4) and 0.92 - 1e-5 <= factor[0] <= 1.08 + 1e-5
        # ... and moved by at most 0.06 of the eye span on each axis.
        assert np.all(np.abs(moved.mean(axis=0) - centre) <= 0.06 * span + 1e-3)


def test_landmark_crops_add_the_jittered_ones_after_each_frames_own():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (240, 320), dtype=np.uint8) for _ in range(3)]
    face = np.stack(np.meshgrid(np.linspace(120, 200, 26), np.linspace(80, 200, 18)), -1).reshape(-1, 2)
    points = [face.astype(np.float32), None, face.astype(np.float32) + 10]
    x, src, own = yawn_crops.landmark_mouth_crops(images, points, np.arange(3), (32, 32), jitter=2, seed=0)
    assert x.shape == (6, 32, 32) and x.dtype == np.uint8
    assert src.tolist() == [0, 0, 0, 2, 2, 2]  # the frame without landmarks has no crop
    assert own.tolist() == [True, False, False] * 2
    plain, _, _ = yawn_crops.landmark_mouth_crops(images, points, np.arange(3), (32, 32))
    assert np.array_equal(plain, x[own])  # the own crops do not depend on the jitter


def test_fer_negatives_leave_out_gaping_expressions():
    from conversion.dataset import FER_CLASSES

    fer = require_shared("datasets/fer2013.npz")
    x = yawn.fer_negatives(fer, "public_test", 30, seed=0)
    assert x.shape == (30, 48, 48)
    assert "surprise" not in yawn.FER_NEGATIVE_CLASSES and "fear" not in yawn.FER_NEGATIVE_CLASSES
    assert set(yawn.FER_NEGATIVE_CLASSES) < set(FER_CLASSES)
    assert len(yawn.fer_negatives(fer, "train", 0, seed=0)) == 0


def test_missing_fer_for_negatives_is_a_dataset_error(yawdd, tmp_path, capsys):
    argv = [
        "--data",
        str(yawdd),
        "--fer",
        str(tmp_path / "none.npz"),
        "--out-model",
        str(tmp_path / "y.tflite"),
    ]
    assert yawn.main(argv) == DatasetError.exit_code
    assert "--fer-negatives 0" in capsys.readouterr().err


# --- training ------------------------------------------------------------------------------------


def test_contrast_norm_defaults_to_the_shipped_none():
    assert yawn.parse_args([]).contrast_norm == "none"


@pytest.mark.train
def test_smoke_train_writes_a_loadable_int8_model(yawdd, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    out = tmp_path / "yawn.tflite"
    tiny = [
        "--widths",
        "8",
        "16",
        "--convs",
        "1",
        "1",
        "--jitter",
        "2",
        "--threads",
        "2",
        "--fer-negatives",
        "0",
        "--contrast-norm",
        "equalize_hist",
    ]
    assert (
        yawn.main(["--data", str(yawdd), "--limit", "120", "--epochs", "2", "--out-model", str(out), *tiny])
        == 0
    )
    meta = ModelMetadata.load(out.with_suffix(".json"))
    assert meta.name == "yawn" and meta.labels == ("no_yawn", "yawn")
    assert (meta.input_width, meta.input_height) == (32, 32)
    assert json.loads(out.with_suffix(".json").read_text())["contrast"] == "equalize_hist"
    assert (
        meta.contrast == Contrast("equalize_hist")
        and meta.extra["recipe"]["contrast_norm"] == "equalize_hist"
    )
    m = meta.metrics
    for key in ("test_accuracy", "test_accuracy_faceless_as_errors", "float_int8_agreement", "file_bytes"):
        assert key in m, key
    assert m["test"]["faceless_frames"] + m["test"]["crops"] == m["test"]["frames"]
    assert m["calibration_images"] <= 120  # all training crops when fewer than --calibration
    split = meta.extra["split"]
    assert split["seed"] == meta.extra["seed"] == 7
    assert sum(split[k]["frames"] for k in yawn.SPLIT_NAMES) == 120
    assert meta.extra["train_seconds"] > 0 and meta.extra["detector"]["cascade"].endswith(".xml")
    clf = load_classifier(out)
    assert clf.input_dtype == np.int8
    est = YawnEstimator(clf)
    assert est.region.to_dict() == meta.extra["mouth_region"]
    est.close()
    report = out.with_name("yawn_report")
    evaluation = json.loads((report / "evaluation.json").read_text())
    assert evaluation["test_int8"]["labels"] == ["no_yawn", "yawn"]
    assert_picture(report / "confusion_test_int8.png")
    assert_picture(report / "training_curves.png")


def test_shipped_yawn_model_keeps_its_recorded_accuracy(yawdd):
    """Regression guard: the group-held-out test split through the device's own path."""
    model = shipped_models_dir() / "yawn.tflite"
    meta = ModelMetadata.load(model.with_suffix(".json"))
    frames = yawn.load_index(yawdd)
    test = yawn.split_by_group(frames.group, frames.y, yawn.DEFAULT_FRACTIONS, meta.extra["seed"])["test"]
    frames = frames.take(test)
    assert len(frames) == meta.extra["split"]["test"]["frames"]
    images = yawn.read_frames(frames)
    cfg = DetectorConfig(**meta.extra["detector"])
    landmark_crops = meta.extra.get("crop") == "landmarks"
    if landmark_crops:  # the device's default detector, then the landmark-centred mouth crop
        from edge_monitor.config import load_config
        from edge_monitor.faces import build_detectors
        from edge_monitor.landmarks import load_landmarker

        faces = yawn.find_faces(images, *build_detectors(cfg))[0]
        points = yawn.face_points(images, faces, load_landmarker(load_config()))
    else:
        faces = yawn.find_faces(images, HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg))[0]
    clf = load_classifier(model)
    est = YawnEstimator(clf)
    try:
        if landmark_crops:
            crops = [
                est.mouth_pixels_at(img, p) if p is not None else None
                for img, p in zip(images, points, strict=True)
            ]
        else:
            crops = [
                est.mouth_pixels(img, f) if f is not None else None
                for img, f in zip(images, faces, strict=True)
            ]
        pred = np.array([int(clf.predict_pixels(c).argmax()) for c in crops if c is not None])
    finally:
        est.close()
    seen = np.array([c is not None for c in crops])
    assert int((~seen).sum()) == meta.metrics["test"]["faceless_frames"]
    accuracy = float((pred == frames.y[seen]).mean())
    assert accuracy >= meta.metrics["test_accuracy"] - 0.005
    assert meta.metrics["test_accuracy"] >= 0.90
    if landmark_crops:  # issue 15: >= 95 % of the test frames, a faceless frame counted as an error
        assert meta.metrics["test_accuracy_faceless_as_errors"] >= 0.95


def test_evaluate_only_reproduces_the_shipped_models_test_numbers(yawdd, tmp_path, capsys):
    """The shipped model re-measured through the device's path gives exactly its recorded numbers;
    a metadata file whose numbers do not match is refused."""
    model = tmp_path / "yawn.tflite"
    model.write_bytes((shipped_models_dir() / "yawn.tflite").read_bytes())
    shipped = json.loads((shipped_models_dir() / "yawn.json").read_text())
    model.with_suffix(".json").write_text(json.dumps(shipped))
    assert yawn.main(["--data", str(yawdd), "--out-model", str(model), "--evaluate-only"]) == 0
    test = shipped["metrics"]["test"]
    assert f"'int8_accuracy': {test['int8_accuracy']}" in capsys.readouterr().out
    test["int8_accuracy"] -= 1 / test["crops"]  # one crop fewer right than measured
    model.with_suffix(".json").write_text(json.dumps(shipped))
    assert (
        yawn.main(["--data", str(yawdd), "--out-model", str(model), "--evaluate-only"])
        == DatasetError.exit_code
    )
    assert "differ from the recorded" in capsys.readouterr().err
