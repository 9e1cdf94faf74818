"""Degraded monitoring: a found face whose landmarks cannot be trusted, and a dark picture."""

from __future__ import annotations

import numpy as np
import pytest

from edge_monitor.monitoring import DegradedTimer, LensTracker, landmarks_unreliable
from edge_monitor.types import FaceGeometry


def geometry(presence: float) -> FaceGeometry:
    points = np.zeros((468, 2), np.float32)
    return FaceGeometry(points, presence, 0.3, 0.3, 0.05, 0.8, 2.0, -3.0, 0.5)


def test_landmarks_unreliable_only_for_a_found_face():
    assert landmarks_unreliable(False, None) is None  # no face: attention's business
    assert landmarks_unreliable(True, geometry(0.9)) is None
    assert landmarks_unreliable(True, None) == "face found but the landmark model rejects it (occluded?)"


def test_degraded_time_counts_an_unbroken_run():
    tr = DegradedTimer()
    assert tr.update(0.0, None) == 0.0
    assert tr.update(1.0, "a") == 0.0
    assert tr.update(4.0, "b") == pytest.approx(3.0) and tr.reason == "b"
    assert tr.update(4.1, None) == 0.0 and tr.reason is None
    assert tr.update(5.0, "a") == 0.0


def test_a_dark_picture_counts_as_unusable_and_says_so():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (240, 320), dtype=np.uint8)
    night = (scene // 16).astype(np.uint8)  # contrast left (std ~4.6), but mean ~7.5
    assert night[::8, ::8].std() >= 4.0  # not blank by the contrast rule alone
    tr = LensTracker(min_std=4.0, min_mean=15.0)
    assert tr.update(0.0, scene) == 0.0 and not tr.unusable
    assert tr.update(1.0, night) == 0.0 and tr.unusable and tr.picture == "dark"
    assert tr.update(3.0, night) == pytest.approx(2.0)
    assert tr.update(3.1, np.full((240, 320), 128, np.uint8)) == pytest.approx(2.1)
    assert tr.picture == "blank"
    assert tr.update(3.2, scene) == 0.0 and not tr.unusable
    assert LensTracker(min_std=4.0).update(0.0, night) == 0.0  # min_mean 0: darkness alone is fine


def test_a_blank_picture_is_timed():
    tr = LensTracker(min_std=4.0)
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (240, 320), dtype=np.uint8)
    blank = np.full((240, 320), 12, np.uint8)
    assert tr.update(0.0, scene) == 0.0
    assert tr.update(1.0, blank) == 0.0
    assert tr.update(3.5, blank) == pytest.approx(2.5)
    assert tr.update(4.0, scene) == 0.0
