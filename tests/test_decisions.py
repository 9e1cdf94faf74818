"""Per-frame eye, mouth and attention decisions from FaceGeometry values and explicit times."""

import dataclasses

import numpy as np
import pytest

from edge_monitor.config import CalibrationConfig, Config
from edge_monitor.decisions import AWAY, CLOSED, HIDDEN, OPEN, UNSEEN, DriverDecisions
from edge_monitor.types import FaceGeometry

POINTS = np.zeros((468, 2), np.float32)
CFG = dataclasses.replace(Config(), calibration=CalibrationConfig(learn_s=1.0))


def geo(ear=0.3, mouth=0.03, width=0.6, yaw=0.0, pitch=0.0, presence=0.95):
    return FaceGeometry(POINTS, presence, ear, ear, mouth, width, yaw, pitch, 0.0)


def calibrated(cfg=CFG, **kw):
    d = DriverDecisions(cfg)
    for k in range(60):
        d.update(k / 30, geo(**kw), 0.05, 0.01, False)
    assert d.calibration.baseline.calibrated
    return d


def test_closed_needs_the_eye_model_and_the_eye_opening_to_agree():
    d = calibrated()
    t = 2.0
    assert d.update(t, geo(ear=0.08), 0.97, 0.0).eye_state == CLOSED
    # Smiling while looking down (the demo clip at 17-19 s): the eye model says closed, the lids
    # keep most of the opening.
    assert d.update(t, geo(ear=0.26), 0.97, 0.0).eye_state == OPEN
    assert d.update(t, geo(ear=0.08), 0.1, 0.0).eye_state == OPEN
    assert d.update(t, None, 0.97, None).eye_state == CLOSED  # no landmarks: the model alone
    assert d.update(t, geo(), None, None).eye_state == UNSEEN


def test_narrow_eyed_driver_is_judged_against_their_own_opening():
    d = calibrated(ear=0.15)  # narrow eyes: open at 0.15
    assert d.update(2.0, geo(ear=0.13), 0.9, 0.0).eye_state == OPEN
    assert d.update(2.0, geo(ear=0.05), 0.9, 0.0).eye_state == CLOSED


def test_looking_down_or_away_is_not_eyes_closed():
    d = calibrated(yaw=10.0, pitch=-5.0)  # an off-axis camera: straight ahead reads yaw 10
    r = d.update(2.0, geo(ear=0.05, yaw=10.0, pitch=-40.0), 0.99, 0.0)
    assert r.eye_state == AWAY and r.looking_away and r.eyes_closed is None
    assert d.update(2.0, geo(ear=0.05, yaw=45.0, pitch=-5.0), 0.99, 0.0).looking_away
    r = d.update(2.0, geo(ear=0.05, yaw=35.0, pitch=-5.0), 0.99, 0.0)  # 25 deg from straight ahead
    assert not r.looking_away and r.eye_state == CLOSED


def test_a_yawn_frame_is_tall_narrow_uncovered_and_agreed_by_the_model():
    d = calibrated()
    assert d.update(2.0, geo(mouth=0.4, width=0.7), 0.1, 0.95).mouth_wide is True
    assert d.update(2.0, geo(mouth=0.2, width=0.7), 0.1, 0.95).mouth_wide is False  # a laugh's opening
    assert d.update(2.0, geo(mouth=0.4, width=0.9), 0.1, 0.95).mouth_wide is False  # a broad grin
    assert d.update(2.0, geo(mouth=0.9, presence=0.2), 0.1, 0.95).mouth_wide is False  # hand
    assert d.update(2.0, geo(mouth=0.9), 0.1, 0.2).mouth_wide is False  # model disagrees
    assert d.update(2.0, None, 0.1, 0.95).mouth_wide is True  # no landmarks: the model alone
    assert d.update(2.0, None, 0.1, None).mouth_wide is None
    r = d.update(2.0, geo(mouth=0.9), 0.1, 0.95)
    assert r.mouth_open == pytest.approx(0.9)


def test_a_driver_whose_mouth_rests_open_needs_a_margin_above_it():
    d = calibrated(mouth=0.2)
    assert d.update(2.0, geo(mouth=0.3), 0.1, 0.95).mouth_wide is False
    assert d.update(2.0, geo(mouth=0.4), 0.1, 0.95).mouth_wide is True


def test_sunglasses_make_the_eye_state_unknown_after_hidden_after_s():
    cfg = dataclasses.replace(CFG, eyes=dataclasses.replace(CFG.eyes, hidden_after_s=0.5))
    d = calibrated(cfg)
    states, flags = [], []
    for k in range(60):  # 2 s of dark, flat eye regions
        r = d.update(2.0 + k / 30, geo(ear=0.05), 0.99, 0.0, eyes_dark=True)
        states.append(r.eye_state)
        flags.append(r.eyes_hidden)
    assert all(s == HIDDEN for s in states)  # never read as closed, not even before the switch
    assert flags.index(True) == pytest.approx(15, abs=1)  # reported after hidden_after_s
    assert d.update(4.0, geo(), 0.1, 0.0, eyes_dark=None).eyes_hidden  # not looked at: no change
    later = [d.update(4.0 + k / 30, geo(), 0.1, 0.0, eyes_dark=False).eye_state for k in range(30)]
    assert later[-1] == OPEN


def test_a_face_the_landmark_stage_rejected_has_unknown_eyes_and_mouth():
    d = DriverDecisions(CFG, landmarks=True)
    r = d.update(0.0, None, 0.97, 0.95)  # e.g. a hand over the face: no geometry
    assert r.eye_state == UNSEEN and r.mouth_wide is None


def test_one_bright_frame_does_not_restart_the_wait_for_sunglasses():
    d = DriverDecisions(CFG)  # hidden_after_s 0.5
    flags = []
    for k in range(30):
        dark = k != 8  # a glare makes frame 8 look like an eye
        flags.append(d.update(k / 30, geo(), 0.2, 0.0, eyes_dark=dark).eyes_hidden)
    assert flags.index(True) == 15
    for k in range(30, 40):  # then clearly visible eyes: the hidden state ends after 0.5 s
        flags.append(d.update(k / 30, geo(), 0.2, 0.0, eyes_dark=False).eyes_hidden)
    assert flags[-1] is True  # 10 frames (0.3 s): not yet
    for k in range(40, 50):
        flags.append(d.update(k / 30, geo(), 0.2, 0.0, eyes_dark=False).eyes_hidden)
    assert flags[-1] is False


def test_yawn_prob_is_where_the_yawn_model_says_wide_open():
    plain = DriverDecisions(CFG)  # no landmark stage: the model decides alone
    assert plain.update(0.0, None, 0.1, 0.6).mouth_wide is True  # default yawn_prob 0.5
    strict = DriverDecisions(
        dataclasses.replace(CFG, fatigue=dataclasses.replace(CFG.fatigue, yawn_prob=0.7))
    )
    assert strict.update(0.0, None, 0.1, 0.6).mouth_wide is False
    assert strict.update(0.0, None, 0.1, 0.7).mouth_wide is True
