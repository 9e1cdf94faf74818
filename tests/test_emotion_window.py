import numpy as np
import pytest

from edge_monitor.config import EmotionConfig
from edge_monitor.emotion_window import EmotionWindow

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def onehot(label: str, p: float = 0.8) -> np.ndarray:
    v = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
    v[LABELS.index(label)] = p
    return v


def window(**kw):
    cfg = EmotionConfig(**{"window_s": 2.0, "min_face_s": 0.5, "switch_margin": 0.1, "min_hold_s": 1.0, **kw})
    return EmotionWindow(LABELS, cfg)


def run_window(w, labels_per_frame, fps=30.0, start=0.0):
    events = []
    state = None
    for i, lab in enumerate(labels_per_frame):
        probs = None if lab is None else onehot(lab)
        state, e = w.update(start + i / fps, i, probs)
        if e is not None:
            events.append(e)
    return state, events


def test_emotion_is_reported_once_enough_face_time_is_seen():
    w = window()
    state, events = run_window(w, ["happy"] * 30)
    assert [e.data["emotion"] for e in events] == ["happy"]
    assert events[0].t == pytest.approx(0.5, abs=1 / 30 + 1e-9)
    assert events[0].data["previous"] is None
    assert set(events[0].data["probs"]) == set(LABELS)
    assert state.label == "happy" and state.confidence == pytest.approx(0.8)
    assert sum(state.distribution.values()) == pytest.approx(1.0)


def test_per_frame_flicker_does_not_change_the_reported_emotion():
    w = window()
    # happy with every third frame 'sad': the window mean stays happy.
    seq = ["happy"] * 30 + ["happy", "happy", "sad"] * 60
    state, events = run_window(w, seq)
    assert [e.data["emotion"] for e in events] == ["happy"]
    assert state.label == "happy"


def test_a_sustained_change_switches_with_margin_and_previous():
    w = window()
    state, events = run_window(w, ["happy"] * 60 + ["angry"] * 90)
    assert [e.data["emotion"] for e in events] == ["happy", "angry"]
    assert events[1].data["previous"] == "happy"
    # Switch happens once angry's mean beats happy's by the margin: a little after the midpoint
    # of the 2 s window, i.e. ~1 s after the change at t = 2 s.
    assert 2.9 <= events[1].t <= 3.3
    assert state.label == "angry"


def test_min_hold_delays_a_second_switch():
    w = window(min_hold_s=5.0, switch_margin=0.0)
    _, events = run_window(w, ["happy"] * 30 + ["sad"] * 90)
    # happy reported at 0.5 s; sad dominates by ~1.1 s but may not replace it before 5.5 s.
    assert [e.data["emotion"] for e in events] == ["happy"]


def test_a_window_without_faces_forgets_the_emotion():
    w = window()
    state, events = run_window(w, ["happy"] * 30 + [None] * 70 + ["sad"] * 30)
    assert [e.data["emotion"] for e in events] == ["happy", "sad"]
    assert events[1].data["previous"] is None
    assert state.label == "sad"


def test_emotion_window_same_decisions_at_different_frame_rates():
    results = {}
    for fps in (15.0, 30.0):
        w = window()
        n = int(2 * fps)
        _, events = run_window(w, ["happy"] * n + ["angry"] * (2 * n), fps=fps)
        results[fps] = [(e.data["emotion"], e.t) for e in events]
    assert [lab for lab, _ in results[15.0]] == [lab for lab, _ in results[30.0]]
    np.testing.assert_allclose([t for _, t in results[15.0]], [t for _, t in results[30.0]], atol=0.1)


def test_reset_forgets_the_reported_emotion():
    w = window()
    state, _ = run_window(w, ["happy"] * 30)
    assert state.label == "happy"
    w.reset()
    assert w.state.label is None and sum(w.state.distribution.values()) == 0
    _, events = run_window(w, ["happy"] * 30, start=10.0)
    assert [e.data["previous"] for e in events] == [None]
