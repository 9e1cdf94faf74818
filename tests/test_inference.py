"""The real LiteRT interpreter on the shipped int8 model."""

import json
import shutil

import numpy as np
import pytest

from edge_monitor.crops import model_input
from edge_monitor.errors import ModelFormatError, ModelMismatchError, ModelNotFoundError
from edge_monitor.inference import TfliteClassifier, load_classifier
from edge_monitor.metadata import ModelMetadata
from edge_monitor.paths import shipped_models_dir


def test_shipped_model_is_full_integer(emotion_classifier):
    assert emotion_classifier.input_dtype == np.int8
    assert emotion_classifier.labels[3] == "happy"


def test_probabilities_are_a_distribution(emotion_classifier):
    rng = np.random.default_rng(1)
    for _ in range(5):
        p = emotion_classifier.predict_pixels(rng.integers(0, 256, (48, 48), dtype=np.uint8))
        assert p.shape == (7,)
        assert (p >= 0).all() and abs(p.sum() - 1.0) < 0.03  # int8 softmax: steps of 1/256


def test_lookup_table_path_equals_the_float_path(emotion_classifier):
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (8, 48, 48), dtype=np.uint8)
    via_float = emotion_classifier.predict_probs(model_input(pixels, emotion_classifier.meta))
    via_lut = np.stack([emotion_classifier.predict_pixels(p) for p in pixels])
    np.testing.assert_array_equal(via_float, via_lut)


def test_flip_tta_averages_the_mirror(emotion_classifier):
    px = np.random.default_rng(3).integers(0, 256, (48, 48), dtype=np.uint8)
    a = emotion_classifier.predict_pixels(px)
    b = emotion_classifier.predict_pixels(np.ascontiguousarray(px[:, ::-1]))
    np.testing.assert_allclose(emotion_classifier.predict(px, flip_tta=True).probs, (a + b) / 2, atol=1e-6)


def test_known_faces_are_classified_well_above_chance(emotion_classifier):
    from tests.conftest import require_shared

    with np.load(require_shared("datasets/fer2013.npz")) as d:
        x, y = d["x_private_test"][:300], d["y_private_test"][:300]
    pred = emotion_classifier.predict_probs(model_input(x, emotion_classifier.meta)).argmax(1)
    assert (pred == y).mean() > 0.45  # chance is 0.25 (the majority class)


def test_missing_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        TfliteClassifier(tmp_path / "none.tflite", emotion_meta())


def emotion_meta() -> ModelMetadata:
    """The shipped emotion model's metadata (the device reads nothing of the trainer's)."""
    return ModelMetadata.load(shipped_models_dir() / "emotion.json")


def test_not_a_tflite_file(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFormatError, match="not a valid TFLite model") as exc:
        TfliteClassifier(bogus, emotion_meta())
    assert "\n" not in str(exc.value)


def test_metadata_that_does_not_match_the_model(tmp_path, emotion_model_path):
    model = tmp_path / "emotion.tflite"
    shutil.copy(emotion_model_path, model)
    meta = json.loads(emotion_model_path.with_suffix(".json").read_text())
    meta["input_width"] = meta["input_height"] = 64
    (tmp_path / "emotion.json").write_text(json.dumps(meta))
    with pytest.raises(
        ModelMismatchError, match=r"takes input \(1, 48, 48, 1\) but its metadata says \(1, 64, 64, 1\)"
    ):
        load_classifier(model)
    meta["input_width"] = meta["input_height"] = 48
    meta["labels"] = meta["labels"][:5]
    (tmp_path / "emotion.json").write_text(json.dumps(meta))
    with pytest.raises(ModelMismatchError, match="outputs 7 classes but its metadata lists 5"):
        load_classifier(model)


def test_close_is_idempotent(emotion_model_path):
    clf = load_classifier(emotion_model_path)
    clf.close()
    clf.close()
