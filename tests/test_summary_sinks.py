import dataclasses
import io

import numpy as np
import pytest

from edge_monitor.outputs.sinks import ConsoleSink, ProgressSink, describe, state_lines
from edge_monitor.summary import RunSummary
from edge_monitor.types import DriverState, EmotionState, Event, FaceBox, Frame, StepResult

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def result(i: int, fps: float = 10.0, face: bool = True, label: str | None = "happy", events=()):
    gray = np.zeros((4, 4), np.uint8)
    return StepResult(
        frame=Frame(np.zeros((4, 4, 3), np.uint8), gray, i / fps, i),
        face=FaceBox(0, 0, 2, 2) if face else None,
        face_detected=face,
        face_present=face,
        emotion=None,
        stable=EmotionState(label, 0.5, dict.fromkeys(LABELS, 1 / 7)),
        events=tuple(events),
    )


def test_summary_counts_time_per_emotion_and_face_frames():
    s = RunSummary()
    for i in range(10):
        s.update(result(i, face=i < 8, label="happy" if i < 5 else ("sad" if i < 8 else None)))
    assert s.frames == 10 and s.face_frames == 8
    assert s.face_pct == pytest.approx(80.0)
    assert s.duration_s == pytest.approx(1.0)
    assert s.emotion_s["happy"] == pytest.approx(0.5) and s.emotion_s["sad"] == pytest.approx(0.3)
    e = s.event(wall_s=0.5, stopped_by="end")
    assert e.kind == "summary" and e.frame == 9 and e.t == pytest.approx(0.9)
    assert e.data["fps"] == 20.0 and e.data["face_frames"] == 8
    text = s.report(0.5)
    assert "80.0 %" in text and "happy 0.5 s" in text and "sad 0.3 s" in text


def test_summary_reports_attentive_time_hidden_eyes_and_the_calibrated_levels():
    from edge_monitor.types import Baseline

    calibrating = Baseline(False, 0.25, 0.05, 0.8, 0.0, 0.0, learnt_s=1.0)
    calibrated = Baseline(True, 0.31, 0.02, 0.74, 8.5, -3.0, learnt_s=5.0)
    s = RunSummary()
    for i in range(10):
        r = dataclasses.replace(
            result(i),
            looking_away=i in (3, 4),  # head turned: face found, not attentive
            driver=DriverState(eyes_hidden=i >= 6),
            baseline=calibrating if i < 5 else calibrated,
        )
        s.update(r)
    assert s.face_pct == pytest.approx(100.0) and s.attentive_pct == pytest.approx(80.0)
    e = s.event(wall_s=1.0, stopped_by="end").data
    assert e["face_pct"] == 100.0 and e["attentive_pct"] == 80.0
    assert e["eyes_hidden_s"] == pytest.approx(0.3)  # hidden from frame 6, the last frame's time not counted
    assert e["calibration"] == {
        "state": "calibrated",
        "learnt_s": 5.0,
        "ear": 0.31,
        "mouth_open": 0.02,
        "mouth_width": 0.74,
        "yaw_deg": 8.5,
        "pitch_deg": -3.0,
    }
    text = s.report(1.0)
    assert "attentive in 80.0 %" in text and "open-eye ratio 0.310" in text and "sunglasses" in text
    assert RunSummary().event(1.0, "end").data["calibration"] == {"state": "off"}


def test_describe_is_one_readable_line():
    e = Event("emotion", 1.5, 12, {"emotion": "sad", "previous": "happy", "confidence": 0.61, "probs": {}})
    line = describe(e)
    assert "\n" not in line and "sad (61 %)" in line and "was happy" in line and "frame     12" in line
    assert "last seen at 2.00 s" in describe(Event("face_lost", 2.3, 20, {"last_seen_t": 2.0}))
    cause = "no look back 3.0 s after a distraction warning"
    line = describe(Event("unresponsive", 10.0, 100, {"start_t": 2.0, "duration_s": 8.0, "cause": cause}))
    assert "8.00 s from 2.00 s (no look back 3.0 s after a distraction warning)" in line


def test_state_lines_show_the_distraction_timer_and_vats():
    r = dataclasses.replace(
        result(0), driver=DriverState(distracted_s=4.2, vats_s=7.5, away_cause="face absent")
    )
    assert "distracted 4.2 s  VATS 7.5 s (face absent)" in state_lines(r)
    assert not any("distracted" in line for line in state_lines(result(0)))


def test_console_prints_each_event():
    out = io.StringIO()
    ConsoleSink(out).on_event(Event("face_found", 0.1, 3))
    assert "face_found" in out.getvalue()


def test_progress_bar_counts_frames_and_clears_for_events():
    out = io.StringIO()
    bar = ProgressSink(total=20, stream=out, every=10)
    for i in range(20):
        bar.on_frame(result(i))
    assert "10/20" in out.getvalue() and "20/20" in out.getvalue() and "#" * 30 in out.getvalue()
    bar.on_event(Event("face_found", 0.1, 3))
    bar.close()
    bar.close()
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 1


def test_status_line_says_calibrating_and_sunglasses():
    from edge_monitor.service import status_line
    from edge_monitor.types import Baseline

    r = result(0)
    assert status_line(r, 12.0) == "12.0 fps, level ok, emotion happy"  # no landmark decisions
    learning = Baseline(False, 0.3, 0.05, 0.58, 0.0, 0.0, 1.0)
    r = dataclasses.replace(r, baseline=learning, driver=DriverState(eyes_hidden=True))
    assert status_line(r, 12.0) == "12.0 fps, level ok, emotion happy, calibrating, eyes hidden (sunglasses)"
    done = dataclasses.replace(learning, calibrated=True)
    assert "calibrating" not in status_line(dataclasses.replace(r, baseline=done), 12.0)
