"""train → quantize → evaluate on a small subset, and the shipped model's regression guard."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conversion import evaluate, quantize, train
from edge_monitor.crops import model_input
from edge_monitor.inference import load_classifier
from edge_monitor.metadata import ModelMetadata
from tests.conftest import assert_picture, require_shared


@pytest.fixture(scope="module")
def fer():
    return require_shared("datasets/fer2013.npz")


@pytest.mark.train
def test_train_quantize_evaluate_smoke(fer, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    out = tmp_path / "run"
    tiny = ["--widths", "8", "16", "--convs", "1", "1", "--batch-size", "32", "--threads", "2"]
    assert train.main(["--data", str(fer), "--out", str(out), "--limit", "256", "--epochs", "2", *tiny]) == 0
    for name in ("best.keras", "last.keras", "history.csv", "state.json", "emotion.json", "timing.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "state.json").read_text())["epoch"] == 2
    trained = ModelMetadata.load(out / "emotion.json")
    # The default recipe: FER+ vote distributions, histogram equalisation recorded for the device.
    assert trained.extra["recipe"]["labels"] == "ferplus"
    assert json.loads((out / "emotion.json").read_text())["contrast"] == "equalize_hist"
    assert trained.extra["train_images"] == 256
    # Resume continues from the last checkpoint instead of starting over.
    argv = ["--data", str(fer), "--out", str(out), "--limit", "256", "--epochs", "3", "--resume", *tiny]
    assert train.main(argv) == 0
    assert json.loads((out / "state.json").read_text())["epoch"] == 3
    assert len((out / "history.csv").read_text().strip().splitlines()) == 1 + 3

    tfl = tmp_path / "emotion.tflite"
    argv = ["--keras", str(out / "best.keras"), "--data", str(fer), "--out", str(tfl), "--limit", "200"]
    assert quantize.main([*argv, "--calibration", "300"]) == 0
    meta = ModelMetadata.load(tfl.with_suffix(".json"))
    checks = meta.metrics["private_test"]
    assert checks["images"] == 200 and checks["calibration_images"] == 300
    # The recorded int8 accuracy is the device runtime's on the same 200 images (quantize's seed 7).
    from conversion.dataset import load_fer2013
    from conversion.ferplus import load_ferplus

    rows = load_fer2013(fer).private_test.subset_index(200, 7)
    with np.load(fer) as d:
        x, y = d["x_private_test"][rows], d["y_private_test"][rows]
    clf = load_classifier(tfl)
    assert clf.input_dtype == np.int8
    pred = clf.predict_probs(model_input(x, clf.meta)).argmax(1)
    assert checks["int8_accuracy"] == pytest.approx(float((pred == y).mean()))
    majority = load_ferplus(require_shared("datasets/ferplus.npz"), fer)["private_test"].majority[rows]
    on_ferplus = meta.metrics["private_test_ferplus"]
    assert on_ferplus["images"] == int((majority >= 0).sum())  # the subset's images with a FER+ majority
    has = majority >= 0
    assert on_ferplus["int8_accuracy"] == pytest.approx(float((pred[has] == majority[has]).mean()))
    assert meta.contrast == trained.contrast

    report = tmp_path / "report"
    argv = ["--keras", str(out / "best.keras"), "--tflite", str(tfl), "--data", str(fer), "--limit", "200"]
    assert evaluate.main([*argv, "--out", str(report)]) == 0
    result = json.loads((report / "evaluation.json").read_text())
    assert_picture(report / "training_curves.png")
    assert any(p.name.startswith("confusion_") for p in report.iterdir())
    assert result["ferplus"]["images"] < result["images"] == 200
    assert set(result["ferplus"]["models"]) == {"keras", "tflite"}
    assert any(p.name.startswith("confusion_ferplus_") for p in report.iterdir())

    # What the choices are made on: public_test, both protocols and where they agree; --merge keeps
    # the runs recorded earlier (their folders gone) and replaces a run measured again.
    from conversion import experiments

    exp = tmp_path / "experiments.json"
    earlier = {"run": "runs/gone", "public_test": {"ferplus_accuracy": 0.5}}
    exp.write_text(json.dumps({"groups": {"final": [earlier], "contrast": [earlier]}}))
    argv = ["--group", "final", str(out), "--baseline", str(tfl), "--data", str(fer), "--out", str(exp)]
    assert experiments.main([*argv, "--merge"]) == 0
    assert experiments.main([*argv, "--merge"]) == 0
    recorded = json.loads(exp.read_text())
    assert recorded["groups"]["contrast"] == [earlier]
    first, again = recorded["groups"]["final"]
    assert first == earlier and again["public_test"]["ferplus_accuracy"] >= 0.0
    assert again["int8_latency_ms"] is None  # not timed: the run has no int8/latency.json
    agreement = recorded["label_agreement"]
    assert agreement["images"] == 3186 and 0.6 < agreement["agreed"] / agreement["images"] < 0.75
    (measured,) = recorded["tflite"]
    assert measured["public_test"]["agreed_images"] == agreement["agreed"]
    assert 0.0 <= measured["public_test"]["agreed_accuracy"] <= 1.0
    assert experiments.main(argv) == 0
    assert "contrast" not in json.loads(exp.read_text())["groups"]  # without --merge: only what was measured


@pytest.mark.train
def test_quantize_rejects_a_small_calibration_set(fer, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    with pytest.raises(SystemExit):
        quantize.main(["--keras", str(tmp_path / "x.keras"), "--calibration", "100"])


def test_representative_set_is_stratified():
    from conversion.dataset import Split

    y = np.repeat(np.arange(7), [400, 40, 400, 700, 480, 310, 490])
    x = np.repeat(y[:, None, None].astype(np.uint8), 48, axis=1).repeat(48, axis=2)
    reps = quantize.representative_images(Split(x, y), 350, seed=0)
    counts = np.bincount(reps[:, 0, 0], minlength=7)
    assert reps.shape == (350, 48, 48)
    assert counts[1] == 40  # every disgust image; the other classes ~50 each
    assert counts.min() >= 40 and counts.max() <= 55


def test_shipped_model_keeps_its_model_card_accuracy(fer, emotion_model_path):
    """Regression guard: the full private_test through the device runtime, on both protocols."""
    from conversion.ferplus import load_ferplus

    clf = load_classifier(emotion_model_path)
    with np.load(fer) as d:
        x, y = d["x_private_test"], d["y_private_test"]
    pred = clf.predict_probs(model_input(x, clf.meta)).argmax(1)
    assert len(y) == 3573  # version 2 of the shared file
    majority = load_ferplus(require_shared("datasets/ferplus.npz"), fer)["private_test"].majority
    has = majority >= 0
    for key, labels, keep in (("private_test", y, slice(None)), ("private_test_ferplus", majority, has)):
        recorded = clf.meta.metrics[key]
        assert recorded["images"] == len(labels[keep])  # measured on version 2, as here
        accuracy = float((pred[keep] == labels[keep]).mean())
        floor = recorded["int8_accuracy"] - 0.005
        assert accuracy >= floor, (
            f"{key}: int8 accuracy {accuracy:.4f} < recorded {recorded['int8_accuracy']:.4f} - 0.5 pp"
        )


@pytest.mark.train
def test_time_limit_stops_after_an_epoch_and_resume_continues(fer, tmp_path):
    pytest.importorskip("tensorflow", reason="training needs the train extra (TensorFlow)")
    out = tmp_path / "run"
    tiny = ["--widths", "8", "16", "--convs", "1", "1", "--batch-size", "64", "--limit", "128"]
    argv = ["--data", str(fer), "--out", str(out), "--epochs", "3", *tiny]
    assert train.main([*argv, "--time-limit-min", "0.0001"]) == 0
    timing = json.loads((out / "timing.json").read_text())
    assert json.loads((out / "state.json").read_text())["epoch"] == 1 == timing["epochs_run"]
    assert ModelMetadata.load(out / "emotion.json").extra["epochs_run"] == 1
    assert train.main([*argv, "--resume"]) == 0
    after = json.loads((out / "timing.json").read_text())
    assert after["epochs_run"] == 3 and after["train_seconds"] > timing["train_seconds"]


def test_remeasure_records_the_current_split_and_keeps_an_older_record(fer, emotion_model_path, tmp_path):
    import shutil

    from conversion import remeasure

    shutil.copy(emotion_model_path, tmp_path / "e.tflite")
    raw = json.loads(emotion_model_path.with_suffix(".json").read_text())
    older = {"images": 3589, "int8_accuracy": 0.5, "calibration_images": 1000, "file_bytes": 1}
    raw["metrics"] = {"private_test": older}
    (tmp_path / "e.json").write_text(json.dumps(raw))
    assert remeasure.main(["--tflite", str(tmp_path / "e.tflite"), "--data", str(fer)]) == 0
    metrics = json.loads((tmp_path / "e.json").read_text())["metrics"]
    assert metrics["private_test_version1"] == older
    assert metrics["private_test"]["images"] == 3573 and metrics["private_test_ferplus"]["images"] == 3136
    shipped = ModelMetadata.load(emotion_model_path.with_suffix(".json")).metrics
    assert metrics["private_test"]["int8_accuracy"] == shipped["private_test"]["int8_accuracy"]
