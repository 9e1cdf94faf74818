"""The yawn estimator on the shipped int8 model (YawDD and real clips)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_monitor.crops import MouthRegion
from edge_monitor.errors import ModelMismatchError
from edge_monitor.metadata import ModelMetadata
from edge_monitor.mouth import YawnEstimator, load_yawn_estimator
from edge_monitor.types import FaceBox
from tests.conftest import require_shared

# --- the shipped model -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yawn_path():
    from edge_monitor.paths import model_path

    return model_path("", "yawn")  # the shipped model; loading it fails loudly if it is missing


@pytest.fixture(scope="module")
def estimator(yawn_path):
    from edge_monitor.inference import load_classifier

    est = YawnEstimator(load_classifier(yawn_path))
    yield est
    est.close()


def test_the_shipped_model_is_int8_and_stores_its_region(estimator, yawn_path):
    meta = ModelMetadata.load(yawn_path.with_suffix(".json"))
    assert meta.name == "yawn" and meta.labels == ("no_yawn", "yawn")
    assert estimator._clf.input_dtype == np.int8
    assert estimator.region == MouthRegion.from_dict(meta.extra["mouth_region"])


def test_load_yawn_estimator_uses_the_config(config):
    est = load_yawn_estimator(config)
    try:
        assert "yawn" in est._clf.labels
    finally:
        est.close()


def test_a_model_without_a_yawn_label_is_rejected(emotion_classifier):
    with pytest.raises(ModelMismatchError, match="'yawn'"):
        YawnEstimator(emotion_classifier)


def test_a_region_override_wins_over_the_metadata(yawn_path):
    from edge_monitor.inference import load_classifier

    region = MouthRegion(0.0, 1.0, 0.0, 1.0)
    est = YawnEstimator(load_classifier(yawn_path), region=region)
    try:
        assert est.region == region
    finally:
        est.close()


def test_no_face_or_unusable_crop_gives_none(estimator, yawn_path):
    from edge_monitor.inference import load_classifier

    gray = np.full((240, 320), 128, np.uint8)
    assert estimator.yawn_prob(gray, None) is None
    assert estimator.yawn_prob(gray, FaceBox(150, 230, 60, 60)) is None
    p = estimator.yawn_prob(gray, FaceBox(100, 60, 100, 100))
    # A uniform frame gives a uniform mouth crop wherever the region lies: the model's own answer
    # for a flat 32x32 grey-128 crop, read by a separately loaded classifier, in output "yawn".
    clf = load_classifier(yawn_path)
    try:
        expected = float(clf.predict_pixels(np.full((32, 32), 128, np.uint8))[clf.labels.index("yawn")])
    finally:
        clf.close()
    assert p == pytest.approx(expected, abs=1e-6)


@pytest.fixture(scope="module")
def yawdd_test_frames(yawn_path):
    """One frame with a detected face from every YawDD test-split group (the model's split)."""
    from conversion import yawn
    from edge_monitor.faces import HaarFaceDetector

    root = require_shared("datasets/yawdd_frames")
    meta = ModelMetadata.load(yawn_path.with_suffix(".json"))
    frames = yawn.load_index(root)
    test = yawn.split_by_group(frames.group, frames.y, yawn.DEFAULT_FRACTIONS, meta.extra["seed"])["test"]
    first = test[np.unique(frames.group[test], return_index=True)[1]]
    picked = frames.take(first)
    images = yawn.read_frames(picked)
    cfg = yawn.dataset_detector()
    faces = yawn.find_faces(images, HaarFaceDetector(cfg), HaarFaceDetector.turned(cfg))[0]
    keep = [i for i, f in enumerate(faces) if f is not None]
    return [images[i] for i in keep], [faces[i] for i in keep], picked.y[keep]


def test_yawdd_test_frames_are_separated(estimator, yawdd_test_frames):
    from conversion.yawn import roc_auc

    images, faces, y = yawdd_test_frames
    assert len(y) >= 20 and 0 < y.sum() < len(y)
    p = np.array([estimator.yawn_prob(img, f) for img, f in zip(images, faces, strict=True)])
    assert roc_auc(y, p) >= 0.9
    assert ((p >= 0.5) == (y == 1)).mean() >= 0.8
    assert np.median(p[y == 1]) > 0.5 > np.median(p[y == 0])


# --- benchmarks.yawn_clips: the daemon's pipeline over a clip -----------------------------------------


@pytest.fixture(scope="module")
def device_models():
    """The daemon's models, built as the CLI builds them from the default config."""
    from edge_monitor.builder import load_models
    from edge_monitor.config import load_config

    models = load_models(load_config())
    yield models
    models.close()


def _splice_yawdd(path, group: str, segments) -> int:
    """Write ``[(label, first, last, repeats), ...]`` of one YawDD driver's stills as a 10 fps clip.

    Each segment holds the driver's ``label`` stills ``first:last`` (in recording order) for
    ``repeats`` frames each. Returns the number of frames written.
    """
    import csv

    import cv2

    root = require_shared("datasets/yawdd_frames")
    with open(root / "index.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["group"] == group]
    stills = {
        label: sorted(
            (r["path"] for r in rows if r["label"] == label), key=lambda p: int(p[p.index("/") + 1 : -4])
        )
        for label in ("yawn", "no_yawn")
    }
    frames = [
        cv2.imread(str(root / name))
        for label, first, last, repeats in segments
        for name in stills[label][first:last]
        for _ in range(repeats)
    ]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return len(frames)


def test_a_spliced_yawn_is_reported_once_and_a_short_one_not(device_models, tmp_path):
    """One YawDD driver (group 156) at 10 frames/s, resting between the segments:

    - ``yawn/97.jpg`` for 0.6 s (from 2.4 s): half open; the model reads it as a yawn, the
      landmark opening is below ``fatigue.yawn_open_min``, so the decisions do not;
    - straight after it, a 1.8 s yawn (from 3.0 s): one ``yawn`` event;
    - later a 1.2 s yawn: shorter than ``fatigue.yawn_min_s`` (1.5 s), no event.
    """
    from benchmarks.yawn_clips import run_clip

    clip = tmp_path / "yawns.mp4"
    rest = ("no_yawn", 0, 8, 2)
    segments = [("no_yawn", 0, 8, 3), ("yawn", 0, 1, 6), ("yawn", 2, 8, 3), rest, ("yawn", 2, 6, 3), rest]
    frames = _splice_yawdd(clip, "156", segments)
    stats = run_clip(device_models, clip)
    assert stats["frames"] == frames == 92 and stats["fps"] == 10.0
    assert stats["frames_with_face"] == stats["frames_with_prob"] == stats["frames_mouth_seen"] == frames
    assert stats["yawn_stage_ms"]["n"] == stats["frames_with_prob"]  # timed once per model call
    # 18 + 12 yawning frames; the model alone also counts the 6 half-open ones (a frame of slack each edge).
    assert stats["yawning_fraction"] == pytest.approx(30 / 92, abs=3 / 92)
    assert stats["prob_open_fraction"] == pytest.approx(36 / 92, abs=3 / 92)
    assert stats["prob_open_fraction"] - stats["yawning_fraction"] >= 4 / 92
    assert stats["longest_prob_open_run_s"] == pytest.approx(2.4, abs=0.15)
    assert stats["yawn_events"] == 1
    (yawn,) = stats["yawns"]
    assert 3.0 <= yawn["start_t"] <= 3.15
    assert 1.5 <= yawn["duration_s"] <= 1.85
    assert stats["longest_yawning_run_s"] == pytest.approx(yawn["duration_s"])  # measured as the tracker does


@pytest.mark.slow
@pytest.mark.parametrize("name", ["clips/fer/woman2.mp4", "clips/pyfeat/single_face.mp4"])
def test_talking_on_the_benchmark_clips_raises_no_yawn(device_models, name):
    from benchmarks.yawn_clips import DEFAULT_CLIPS, run_clip

    assert name in DEFAULT_CLIPS
    stats = run_clip(device_models, require_shared(name))
    assert stats["frames_with_face"] >= 0.9 * stats["frames"]
    assert stats["frames_mouth_seen"] >= 0.9 * stats["frames"]
    assert stats["yawn_stage_ms"]["n"] == stats["frames_with_prob"]
    assert stats["prob_mean"] < 0.5
    assert stats["prob_open_fraction"] < 0.25 and stats["yawning_fraction"] < 0.25
    # Talking never holds the mouth open as long as a yawn: the pipeline raises nothing.
    assert stats["longest_yawning_run_s"] < 1.5  # fatigue.yawn_min_s
    assert stats["yawn_events"] == 0 and stats["yawns"] == []


def test_open_runs_are_measured_like_the_yawn_tracker():
    from benchmarks.yawn_clips import open_runs

    t = [i / 10 for i in range(10)]
    flags = [False, True, True, None, True, False, False, True, True, True]  # None: mouth not seen
    runs = open_runs(t, flags)
    assert runs == pytest.approx([0.2, 0.1, 0.3])  # the last run lasts one frame period past the clip
    assert open_runs(t, [None] * 10) == []
    assert open_runs([0.0], [True]) == [0.0]


def test_pipeline_reads_a_yawn_from_a_turned_face_and_nothing_else(config, emotion_classifier, estimator):
    """YawDD ``yawn/1.jpg``: no frontal face (absent for attention), but the mouth is read.

    The Haar path (``detector.kind: haar``); BlazeFace finds this face itself (tests/test_blazeface.py).
    """
    import dataclasses

    import cv2

    from edge_monitor.eyes import EyeStateEstimator
    from edge_monitor.faces import build_face_tracker
    from edge_monitor.inference import load_classifier
    from edge_monitor.paths import shipped_models_dir
    from edge_monitor.pipeline import Pipeline
    from edge_monitor.types import Frame

    gray = cv2.imread(str(require_shared("datasets/yawdd_frames") / "yawn" / "1.jpg"), cv2.IMREAD_GRAYSCALE)
    eyes = EyeStateEstimator(load_classifier(shipped_models_dir() / "eye_state.tflite"), config.eyes)
    pipeline = Pipeline(
        build_face_tracker(dataclasses.replace(config.detector, kind="haar"), config.face),
        emotion_classifier,
        config,
        eyes=eyes,
        yawns=estimator,
    )
    try:
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        results = [pipeline.step(Frame(bgr=bgr, gray=gray, t=i / 10.0, index=i)) for i in range(5)]
    finally:
        eyes.close()
    for r in results:
        assert r.face is None and not r.face_detected and not r.face_present
        assert r.turned_face is not None
        assert r.emotion is None and r.eye_closed_prob is None  # frontal-only readings
        assert r.yawn_prob is not None and r.yawn_prob >= 0.5  # a wide-open mouth
    assert results[-1].driver.distracted_s == pytest.approx(0.4)  # turned still counts as absent
