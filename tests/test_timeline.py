import sys

import cv2
import numpy as np
import pytest

from edge_monitor.errors import OutputError
from edge_monitor.outputs.timeline import TimelineSink
from edge_monitor.types import EmotionState, Event, FaceBox, Frame, StepResult

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def result(i, label):
    dist = dict.fromkeys(LABELS, 0.05)
    if label:
        dist[label] = 0.7
    return StepResult(
        frame=Frame(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), i / 10, i),
        face=FaceBox(0, 0, 2, 2) if label else None,
        face_detected=label is not None,
        face_present=label is not None,
        emotion=None,
        stable=EmotionState(label, 0.7 if label else 0.0, dist),
    )


def test_timeline_png_is_written_on_close(tmp_path):
    out = tmp_path / "sub" / "t.png"
    sink = TimelineSink(out, title="test")
    sink.on_event(Event("face_found", 0.1, 1))
    for i in range(50):
        sink.on_frame(result(i, "happy" if i < 20 else ("sad" if i < 40 else None)))
    sink.on_event(Event("face_lost", 4.3, 43, {"last_seen_t": 4.0}))
    sink.on_event(Event("unresponsive", 4.5, 45, {"start_t": 1.0, "duration_s": 3.5, "cause": "c"}))
    sink.close()
    sink.close()
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 600
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 10  # a real drawing, not a blank canvas


def test_landmark_panels_plot_eye_mouth_and_pose_against_the_drivers_levels(tmp_path):
    import dataclasses

    from edge_monitor.types import Baseline, FaceGeometry

    out = tmp_path / "t.png"
    sink = TimelineSink(out)
    base = Baseline(True, 0.3, 0.03, 0.8, 5.0, -2.0, 5.0)
    for i in range(60):
        mouth = 0.9 if 20 <= i < 40 else 0.05  # a yawn in the middle
        g = FaceGeometry(np.zeros((468, 2), np.float32), 0.98, 0.3, 0.28, mouth, 0.8, 5.0 + i, -2.0, 0.0)
        sink.on_frame(dataclasses.replace(result(i, "happy"), geometry=g, baseline=base, looking_away=i > 40))
    sink.on_event(Event("yawn", 4.0, 40, {"start_t": 2.0, "duration_s": 2.0, "peak_mouth_open": 0.9}))
    geo = np.asarray(sink._geo)
    assert geo.shape == (60, 4) and geo[25, 1] == pytest.approx(0.9) and geo[0, 0] == pytest.approx(0.29)
    sink.close()
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 1000  # nine panels


def test_nothing_is_drawn_for_a_run_without_frames(tmp_path):
    sink = TimelineSink(tmp_path / "t.png")
    sink.close()
    assert not (tmp_path / "t.png").exists()


def test_missing_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(OutputError, match=r"pip install 'edge-monitor\[plot\]'"):
        TimelineSink(tmp_path / "t.png")


def test_runs_of_equal_values():
    from edge_monitor.outputs.timeline import _runs

    assert list(_runs(["ok", "ok", "alarm", "ok", None, None])) == [
        (0, 1, "ok"),
        (2, 2, "alarm"),
        (3, 3, "ok"),
        (4, 5, None),
    ]
    assert list(_runs([])) == []


def test_one_shaded_span_per_run_of_frames_not_per_frame(tmp_path, monkeypatch):
    """A long steady stretch is one patch: drawing an hour's run stays cheap."""
    import matplotlib.axes

    spans = []
    real = matplotlib.axes.Axes.axvspan
    monkeypatch.setattr(
        matplotlib.axes.Axes, "axvspan", lambda ax, *a, **k: spans.append(a) or real(ax, *a, **k)
    )
    sink = TimelineSink(tmp_path / "t.png")
    for i in range(3000):  # 300 s at 10 fps: happy, then sad, then no face
        sink.on_frame(result(i, "happy" if i < 1000 else ("sad" if i < 2000 else None)))
    sink.close()
    emotion_bands = [a for a in spans if a[:2] in ((0.0, 100.0), (100.0, 200.0))]
    assert len(emotion_bands) == 2
    assert len(spans) < 10
