"""The Haar eye locator, and the eye-state estimator on the shipped model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_monitor.config import EyesConfig, load_config
from edge_monitor.crops import EYE_SIZE_FRAC, eye_boxes
from edge_monitor.errors import ModelMismatchError
from edge_monitor.eyes import (
    EyeStateEstimator,
    GeometricEyeLocator,
    HaarEyeLocator,
    load_eye_estimator,
    make_locator,
)
from edge_monitor.inference import TfliteClassifier, load_classifier
from edge_monitor.metadata import ModelMetadata
from edge_monitor.paths import model_path
from edge_monitor.types import FaceBox
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def eye_model_path():
    return model_path("", "eye_state")  # the shipped model; loading it fails loudly if it is missing


@pytest.fixture(scope="module")
def eye_classifier(eye_model_path, request):
    clf = load_classifier(eye_model_path)
    request.addfinalizer(clf.close)
    return clf


@pytest.fixture(scope="module")
def estimator(eye_classifier):
    return EyeStateEstimator(eye_classifier, EyesConfig(), GeometricEyeLocator())


@pytest.fixture(scope="module")
def cew_test():
    """The group-held-out CEW test split the shipped model was evaluated on."""
    from conversion.eyes import DEFAULT_FRACTIONS, load_cew, split_by_group

    data = load_cew(require_shared("datasets/cew_eyes.npz"))
    meta = ModelMetadata.load(model_path("", "eye_state").with_suffix(".json"))
    idx = split_by_group(data.group, DEFAULT_FRACTIONS, int(meta.extra["seed"]))
    return data.take(idx["test"])


def test_make_locator_follows_the_config():
    assert isinstance(make_locator(EyesConfig()), GeometricEyeLocator)
    assert isinstance(make_locator(EyesConfig(locate="haar")), HaarEyeLocator)


def test_haar_locator_falls_back_to_the_geometric_squares_without_eyes():
    locator = HaarEyeLocator()
    face = FaceBox(50, 40, 200, 200)
    blank = np.full((360, 640), 128, np.uint8)
    assert locator.locate(blank, face) == eye_boxes(face)
    assert (locator.found, locator.fallbacks) == (0, 2)


def test_haar_locator_recentres_on_real_eyes(clip):
    path = clip("pyfeat/WolfgangLanger_Pexels.mp4")
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 320)  # eyes wide open, smiling
    ok, bgr = cap.read()
    cap.release()
    assert ok
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    face = FaceBox(321, 26, 270, 270)  # the Haar box of this frame
    locator = HaarEyeLocator()
    boxes = locator.locate(gray, face)
    assert locator.found >= 1
    for box, geo in zip(boxes, eye_boxes(face), strict=True):
        assert box.w == geo.w  # re-centred, same scale
        assert np.hypot(box.x - geo.x, box.y - geo.y) <= 0.12 * face.w + 1
    # The config's haar keys steer it: no detection may move a square, or none is searched for.
    for cfg in (EyesConfig(haar_max_offset_frac=0.0), EyesConfig(haar_search_height_frac=0.3)):
        pinned = HaarEyeLocator(cfg)
        assert pinned.locate(gray, face) == eye_boxes(face)
        assert (pinned.found, pinned.fallbacks) == (0, 2)


def test_estimator_needs_a_closed_label(eye_model_path):
    meta = ModelMetadata.load(eye_model_path.with_suffix(".json"))
    wrong = ModelMetadata(
        name="x", labels=("shut", "open"), input_width=meta.input_width, input_height=meta.input_height
    )
    clf = TfliteClassifier(eye_model_path, wrong)
    with pytest.raises(ModelMismatchError, match="closed"):
        EyeStateEstimator(clf, EyesConfig())
    clf.close()


def test_shipped_model_contract(eye_classifier):
    assert eye_classifier.input_dtype == np.int8
    assert eye_classifier.labels == ("closed", "open")
    assert eye_classifier.meta.input_size == (24, 24)


def test_degenerate_crops_give_none(estimator):
    gray = np.full((120, 160), 100, np.uint8)
    assert estimator.closed_prob(gray, FaceBox(150, 100, 200, 200)) is None  # eyes off the frame
    assert estimator.closed_prob(gray, FaceBox(10, 10, 20, 20)) is None  # eyes of 6 px
    assert estimator.closed_prob(gray, FaceBox(10, 10, 100, 100)) is not None


def _face_with_patches(left: np.ndarray, right: np.ndarray, k: int = 2) -> tuple[np.ndarray, FaceBox]:
    """A frame whose eye squares are exactly ``k``-times enlarged copies of two 24×24 patches."""
    side = 24 * k
    w = next(w for w in range(side, 10 * side) if round(EYE_SIZE_FRAC * w) == side)
    face = FaceBox(30, 20, w, w)
    frame = np.full((w + 60, w + 60), 128, np.uint8)
    for box, patch in zip(eye_boxes(face), (left, right), strict=True):
        big = cv2.resize(patch, (side, side), interpolation=cv2.INTER_NEAREST)
        frame[box.y : box.y + side, box.x : box.x + side] = big
    return frame, face


def test_a_face_box_reaches_the_model_as_the_cew_patches(estimator, eye_classifier, cew_test):
    # The crop path (locate → crop → area resize) gives back the very patches: preprocessing as in training.
    a, b = cew_test.x[0], cew_test.x[1]
    frame, face = _face_with_patches(a, b)
    eyes = estimator.eye_pixels(frame, face)
    np.testing.assert_array_equal(eyes[0], a)
    np.testing.assert_array_equal(eyes[1], b)
    plain = EyeStateEstimator(eye_classifier, EyesConfig(flip_average=False), GeometricEyeLocator())
    expected = (eye_classifier.predict_pixels(a)[0] + eye_classifier.predict_pixels(b)[0]) / 2
    assert plain.closed_prob(frame, face) == pytest.approx(float(expected), abs=1e-6)


def test_flip_average_reads_each_eye_and_its_mirror_image(eye_classifier, cew_test):
    plain = EyeStateEstimator(eye_classifier, EyesConfig(flip_average=False), GeometricEyeLocator())
    flipped = EyeStateEstimator(eye_classifier, EyesConfig(flip_average=True), GeometricEyeLocator())
    differs = 0
    for i in range(0, 40, 2):
        a, b = cew_test.x[i], cew_test.x[i + 1]
        frame, face = _face_with_patches(a, b)
        crops = [a, b, a[:, ::-1].copy(), b[:, ::-1].copy()]
        expected = np.mean([eye_classifier.predict_pixels(c)[0] for c in crops])
        assert flipped.closed_prob(frame, face) == pytest.approx(float(expected), abs=1e-6)
        differs += abs(flipped.closed_prob(frame, face) - plain.closed_prob(frame, face)) > 1e-4
    assert differs >= 5  # the mirror image is really read, not the same crop twice


def test_closed_prob_separates_cew_test_pairs(estimator, cew_test):
    rng = np.random.default_rng(0)
    correct = []
    for label in (0, 1):  # closed, open
        idx = rng.permutation(np.flatnonzero(cew_test.y == label))[:120]
        for i, j in zip(idx[0::2], idx[1::2], strict=False):
            frame, face = _face_with_patches(cew_test.x[i], cew_test.x[j])
            p = estimator.closed_prob(frame, face)
            correct.append((p >= estimator.cfg.closed_threshold) == (label == 0))
    assert np.mean(correct) >= 0.95


def test_single_cew_test_patches_reach_95_percent(eye_classifier, cew_test):
    pred = np.array([eye_classifier.predict_pixels(x).argmax() for x in cew_test.x])
    assert (pred == cew_test.y).mean() >= 0.95


@pytest.mark.slow
def test_wolfgang_clip_closed_then_open(clip, estimator):
    from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector
    from edge_monitor.sources.replay import VideoFileSource

    cfg = load_config()
    tracker = DriverFaceTracker(HaarFaceDetector(cfg.detector), cfg.detector, cfg.face)
    source = VideoFileSource(clip("pyfeat/WolfgangLanger_Pexels.mp4"))
    probs: dict[int, float] = {}
    while (frame := source.read()) is not None and frame.index <= 400:
        face, _ = tracker.update(frame.gray, frame.t)
        if face is not None and (10 <= frame.index <= 40 or frame.index >= 300):
            p = estimator.closed_prob(frame.gray, face)
            if p is not None:
                probs[frame.index] = p
    source.close()
    closed = [p for i, p in probs.items() if i <= 40]
    opened = [p for i, p in probs.items() if i >= 300]
    assert len(closed) >= 25 and len(opened) >= 90
    assert np.mean(closed) >= 0.8, np.mean(closed)
    assert np.mean(opened) <= 0.3, np.mean(opened)
    assert np.mean([p >= estimator.cfg.closed_threshold for p in opened]) <= 0.1


def test_load_eye_estimator_uses_the_shipped_model():
    est = load_eye_estimator(load_config())
    try:
        assert isinstance(est.locator, GeometricEyeLocator)
        assert est.closed_prob(np.full((240, 320), 90, np.uint8), FaceBox(60, 20, 200, 200)) is not None
    finally:
        est.close()
