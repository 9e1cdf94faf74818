"""Per-driver calibration, driven with FaceGeometry values and explicit timestamps."""

import numpy as np
import pytest

from edge_monitor.calibration import DriverCalibration
from edge_monitor.config import CalibrationConfig
from edge_monitor.types import FaceGeometry

POINTS = np.zeros((468, 2), np.float32)


def geo(ear=0.2, mouth=0.03, width=0.75, yaw=12.0, pitch=-8.0, presence=0.95):
    return FaceGeometry(POINTS, presence, ear, ear, mouth, width, yaw, pitch, 0.0)


def feed(cal, seconds, start=0.0, fps=30.0, closed_prob=0.05, **kw):
    t = start
    for _ in range(round(seconds * fps)):
        b = cal.update(t, geo(**kw), closed_prob)
        t += 1 / fps
    return b


def test_defaults_until_learn_s_of_attentive_time_then_the_drivers_medians():
    cfg = CalibrationConfig(learn_s=5.0)
    cal = DriverCalibration(cfg)
    b = feed(cal, 4.0)
    assert not b.calibrated and b.state == "calibrating"
    assert b.ear == cfg.default_ear and b.yaw_deg == 0.0
    b = feed(cal, 1.5, start=4.0)
    assert b.calibrated and b.state == "calibrated"
    assert (
        b.ear == pytest.approx(0.2)
        and b.yaw_deg == pytest.approx(12.0)
        and b.pitch_deg == pytest.approx(-8.0)
    )
    assert b.mouth_open == pytest.approx(0.03) and b.mouth_width == pytest.approx(0.75)
    assert b.to_record()["state"] == "calibrated"


def test_closed_eyes_turned_heads_and_covered_faces_are_not_learnt_from():
    cal = DriverCalibration(CalibrationConfig(learn_s=2.0))
    feed(cal, 3.0, closed_prob=0.95, ear=0.05)  # eyes closed at the start (the demo clip)
    feed(cal, 3.0, start=3.0, yaw=60.0)  # looking out of the side window
    b = feed(cal, 3.0, start=6.0, presence=0.2)  # a hand over the face
    assert not b.calibrated and cal.learnt_s == 0.0
    b = feed(cal, 2.5, start=9.0)
    assert b.calibrated and b.ear == pytest.approx(0.2)


def test_medians_ignore_a_laugh_and_refresh_slowly():
    cal = DriverCalibration(CalibrationConfig(learn_s=2.0, window_s=60.0))
    feed(cal, 10.0)
    b = feed(cal, 2.0, start=10.0, mouth=0.5, width=1.0)  # a laugh: wide open, wider mouth
    assert b.mouth_open == pytest.approx(0.03) and b.mouth_width == pytest.approx(0.75)
    # Another driver (or the camera moved) for longer than the window: learnt.
    b = feed(cal, 70.0, start=12.0, ear=0.3, yaw=-5.0)
    assert b.ear == pytest.approx(0.3) and b.yaw_deg == pytest.approx(-5.0)


def test_frames_far_apart_do_not_count_as_continuous_attentive_time():
    cal = DriverCalibration(CalibrationConfig(learn_s=2.0))
    for k in range(10):
        cal.update(k * 1.0, geo(), 0.05)  # one frame a second: gaps of 1 s
    assert cal.learnt_s == 0.0 and not cal.baseline.calibrated


def test_mouth_rest_percentile_picks_the_resting_opening():
    # 3 s with the mouth at 0.02, then 3 s talking at 0.30: the resting opening is a low percentile
    # (25th by default: 0.02); at the 75th percentile the talking frames set it (0.30).
    levels = {}
    for percentile in (25.0, 75.0):
        cal = DriverCalibration(CalibrationConfig(learn_s=1.0, mouth_rest_percentile=percentile))
        feed(cal, 3.0, mouth=0.02)
        levels[percentile] = feed(cal, 3.0, start=3.0, mouth=0.30).mouth_open
    assert levels[25.0] == pytest.approx(0.02) and levels[75.0] == pytest.approx(0.30)


def test_max_frame_gap_s_decides_what_is_continuous_attentive_time():
    # Attentive frames 0.8 s apart: no attentive time by default (gap 0.5 s), all of it with 1 s.
    learnt = {}
    for gap in (0.5, 1.0):
        cal = DriverCalibration(CalibrationConfig(learn_s=1.0, max_frame_gap_s=gap))
        feed(cal, 8.0, fps=1 / 0.8)
        learnt[gap] = cal.learnt_s
    assert learnt[0.5] == 0.0 and learnt[1.0] == pytest.approx(0.8 * 9, abs=0.01)
