"""The one pipeline builder (CLI and benchmarks): models loaded once, a fresh pipeline per run."""

from __future__ import annotations

import dataclasses

import pytest

from edge_monitor.builder import load_models
from edge_monitor.config import Config
from edge_monitor.errors import ModelMismatchError
from edge_monitor.paths import shipped_models_dir
from edge_monitor.sources.replay import VideoFileSource


def test_each_pipeline_gets_a_fresh_tracker_over_the_same_models(clip):
    models = load_models(Config())
    first = models.pipeline()
    tracker = models.tracker
    source = VideoFileSource(clip("pyfeat/single_face.mp4"))
    frame = source.read()
    source.close()
    assert first.step(frame).face_detected
    assert tracker.full_scans == 1
    second = models.pipeline()
    assert models.tracker is not tracker and models.tracker.full_scans == 0
    assert second.step(frame).face_detected  # the same models serve the second run
    models.close()
    models.close()  # idempotent
    with pytest.raises(AttributeError):  # the interpreters are released
        models.emotion.predict_pixels(frame.gray[:48, :48])


def test_a_model_of_the_wrong_task_is_refused_before_the_run():
    cfg = Config()
    eye_as_yawn = str(shipped_models_dir() / "eye_state.tflite")
    cfg = dataclasses.replace(cfg, models=dataclasses.replace(cfg.models, yawn=eye_as_yawn))
    with pytest.raises(ModelMismatchError, match="not a 'yawn' model"):
        load_models(cfg)
