import json

import pytest

from edge_monitor.errors import ModelFormatError, ModelNotFoundError
from edge_monitor.metadata import ModelMetadata


def test_round_trip(tmp_path):
    meta = ModelMetadata("eye", ("closed", "open"), 24, 24, scale=1 / 255, offset=0.0, metrics={"acc": 0.97})
    meta.save(tmp_path / "eye.json")
    assert ModelMetadata.load(tmp_path / "eye.json") == meta


def test_shipped_metadata_describes_the_model(emotion_model_path):
    meta = ModelMetadata.load(emotion_model_path.with_suffix(".json"))
    assert meta.labels == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert meta.input_size == (48, 48) and meta.colour == "gray"
    assert 0 < meta.scale < 1


def test_errors(tmp_path):
    with pytest.raises(ModelNotFoundError):
        ModelMetadata.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        ModelMetadata.load(bad)
    bad.write_text(json.dumps({"name": "x", "labels": ["a"], "input_width": 4}))
    with pytest.raises(ModelFormatError, match="missing or has a bad field"):
        ModelMetadata.load(bad)
    bad.write_text(
        json.dumps({"name": "x", "labels": [], "input_width": 4, "input_height": 4, "scale": 1, "offset": 0})
    )
    with pytest.raises(ModelFormatError, match="no labels"):
        ModelMetadata.load(bad)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("scale", float("nan"), "not a finite number"),
        ("scale", float("inf"), "not a finite number"),
        ("offset", "-1", "not a finite number"),
        ("scale", 0, "is zero"),
        ("input_width", 48.9, "whole number"),
        ("input_height", True, "whole number"),
        ("input_width", 0, "whole number"),
        ("labels", [1, 2, 3, 4, 5, 6, 7], "non-empty strings"),
        ("labels", ["a", "a", "b", "c", "d", "e", "f"], "duplicates"),
        ("labels", "angry", "not a list"),
        ("name", 3, "not a model name"),
    ],
)
def test_bad_metadata_values_are_refused(tmp_path, emotion_model_path, field, value, needle):
    raw = json.loads(emotion_model_path.with_suffix(".json").read_text())
    raw[field] = value
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps(raw))  # NaN/Infinity are written as JSON extensions, as Python reads them
    with pytest.raises(ModelFormatError, match=needle):
        ModelMetadata.load(bad)


def test_a_model_in_the_wrong_slot_is_refused():
    from edge_monitor.errors import ModelMismatchError
    from edge_monitor.inference import load_classifier
    from edge_monitor.paths import shipped_models_dir

    with pytest.raises(ModelMismatchError, match=r"'eye_state' model .* not a 'emotion' model"):
        load_classifier(shipped_models_dir() / "eye_state.tflite", task="emotion")
