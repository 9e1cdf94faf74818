"""The contrast normalisation shared by training and the device, and its metadata key."""

from __future__ import annotations

import json
import re
import shutil

import cv2
import numpy as np
import pytest

from edge_monitor.contrast import Contrast, parse_contrast
from edge_monitor.crops import face_pixels, model_input
from edge_monitor.errors import ModelFormatError
from edge_monitor.inference import load_classifier
from edge_monitor.metadata import ModelMetadata
from edge_monitor.paths import shipped_models_dir
from edge_monitor.types import FaceBox
from tests.test_cli import run_cli

ACCEPTED = {
    "none": lambda img: img,
    "equalize_hist": cv2.equalizeHist,
    '{"clahe": {"clip_limit": 2.0, "tile": 4}}': lambda img: cv2.createCLAHE(2.0, (4, 4)).apply(img),
    '{"clahe": {"clip_limit": 3, "tile": 8}}': lambda img: cv2.createCLAHE(3.0, (8, 8)).apply(img),
}


def _face(seed: int = 0) -> np.ndarray:
    """A low-contrast 48x48 image (values squeezed into 90..140), as a dim camera crop is."""
    rng = np.random.default_rng(seed)
    return (90 + rng.integers(0, 50, (48, 48))).astype(np.uint8)


@pytest.mark.parametrize("text", list(ACCEPTED))
def test_each_accepted_value_round_trips_and_is_the_opencv_function(tmp_path, text):
    value = json.loads(text) if text.startswith("{") else text
    meta = ModelMetadata("m", ("a", "b"), 48, 48, contrast=value)
    meta.save(tmp_path / "m.json")
    raw = json.loads((tmp_path / "m.json").read_text())
    assert raw["contrast"] == value  # the top-level key external evaluators read
    loaded = ModelMetadata.load(tmp_path / "m.json")
    assert loaded == meta
    faces = np.stack([_face(0), _face(1)])
    expect = np.stack([ACCEPTED[text](f) for f in faces]).astype(np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(model_input(faces, loaded)[..., 0], expect, atol=1e-6)
    if value != "none":
        assert expect.std() > (faces / 127.5).std() * 1.5  # it does stretch a dim crop


def test_metadata_without_the_key_means_none(tmp_path):
    raw = json.loads((shipped_models_dir() / "eye_state.json").read_text())
    del raw["contrast"]
    (tmp_path / "old.json").write_text(json.dumps(raw))
    assert ModelMetadata.load(tmp_path / "old.json").contrast == Contrast("none")


@pytest.mark.parametrize(
    "value",
    [
        "equalise",
        "CLAHE",
        None,
        3,
        {"clahe": {"clip_limit": 0, "tile": 8}},
        {"clahe": {"clip_limit": 2.0, "tile": 0}},
        {"clahe": {"clip_limit": 2.0}},
        {"clahe": {"clip_limit": 2.0, "tile": 8, "extra": 1}},
        {"clahe": {"clip_limit": "2", "tile": 8}},
        {"clahe": {"clip_limit": 2.0, "tile": 2.5}},
        {"equalize_hist": {}},
    ],
)
def test_unknown_values_are_model_format_errors_naming_the_accepted_ones(tmp_path, value):
    raw = json.loads((shipped_models_dir() / "yawn.json").read_text())
    raw["contrast"] = value
    (tmp_path / "y.json").write_text(json.dumps(raw))
    with pytest.raises(ModelFormatError, match=re.escape('"none", "equalize_hist" or {"clahe"')) as exc:
        ModelMetadata.load(tmp_path / "y.json")
    assert str(tmp_path / "y.json") in str(exc.value)
    assert ModelFormatError.exit_code == 32


def test_every_shipped_model_records_its_contrast():
    for name in ("emotion", "eye_state", "yawn"):
        raw = json.loads((shipped_models_dir() / f"{name}.json").read_text())
        assert (
            parse_contrast(raw["contrast"])
            == ModelMetadata.load(shipped_models_dir() / f"{name}.json").contrast
        )


@pytest.mark.parametrize("value", ["equalize_hist", {"clahe": {"clip_limit": 2.0, "tile": 4}}])
def test_the_device_path_applies_the_contrast_as_training_does(tmp_path, value):
    """The int8 runtime's pixel path (lookup table) equals the float path of ``model_input``."""
    shutil.copy(shipped_models_dir() / "emotion.tflite", tmp_path / "e.tflite")
    raw = json.loads((shipped_models_dir() / "emotion.json").read_text())
    raw["contrast"] = value
    (tmp_path / "e.json").write_text(json.dumps(raw))
    clf = load_classifier(tmp_path / "e.tflite")
    frame = np.full((240, 320), 100, np.uint8)
    frame[100:196, 150:246] = cv2.resize(_face(3), (96, 96))
    px = face_pixels(frame, FaceBox(150, 100, 96, 96), clf.meta)
    on_device = clf.predict_pixels(px)
    as_trained = clf.predict_probs(model_input(px, clf.meta))[0]
    np.testing.assert_array_equal(on_device, as_trained)
    raw["contrast"] = "none"
    (tmp_path / "e.json").write_text(json.dumps(raw))
    plain = load_classifier(tmp_path / "e.tflite")
    assert not np.array_equal(plain.predict_pixels(px), on_device)  # the contrast changed the input
    clf.close()
    plain.close()


@pytest.mark.slow
def test_unknown_contrast_through_the_cli_is_exit_32(tmp_path):
    from tests.conftest import require_shared

    clip = require_shared("clips/pyfeat/single_face.mp4")
    shutil.copy(shipped_models_dir() / "emotion.tflite", tmp_path / "e.tflite")
    raw = json.loads((shipped_models_dir() / "emotion.json").read_text())
    raw["contrast"] = "histogram"
    (tmp_path / "e.json").write_text(json.dumps(raw))
    (tmp_path / "c.yaml").write_text(f"models:\n  emotion: {tmp_path / 'e.tflite'}\n")
    proc = run_cli("--video", clip, "--config", tmp_path / "c.yaml", "--events", tmp_path / "e.jsonl")
    assert proc.returncode == 32, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("edge-monitor: error: ")
    assert '"histogram"' in lines[0] and '"none", "equalize_hist" or {"clahe"' in lines[0]
