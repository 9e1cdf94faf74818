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
