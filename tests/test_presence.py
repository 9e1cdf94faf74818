import numpy as np
import pytest

from edge_monitor.config import FaceConfig
from edge_monitor.presence import PresenceTracker


def feed_presence(tracker, seq, fps=30.0):
    events = []
    for i, detected in enumerate(seq):
        e = tracker.update(i / fps, i, detected)
        if e is not None:
            events.append(e)
    return events


def test_presence_reports_found_then_lost_after_the_debounce_times():
    tr = PresenceTracker(FaceConfig(found_after_s=0.1, lost_after_s=0.3))
    seq = [False] * 3 + [True] * 30 + [False] * 30
    events = feed_presence(tr, seq)
    assert [e.kind for e in events] == ["face_found", "face_lost"]
    found, lost = events
    assert found.t == pytest.approx(3 / 30 + 0.1, abs=1 / 30 + 1e-9)
    assert lost.t == pytest.approx(33 / 30 + 0.3, abs=1 / 30 + 1e-9)
    assert lost.data["last_seen_t"] == pytest.approx(32 / 30, abs=1e-3)


def test_presence_ignores_short_dropouts_and_blips():
    tr = PresenceTracker(FaceConfig(found_after_s=0.1, lost_after_s=0.3))
    # Face present, with 5-frame (0.17 s) dropouts, then a 2-frame face blip while absent.
    seq = [True] * 10 + ([False] * 5 + [True] * 10) * 4 + [False] * 20 + [True] * 2 + [False] * 20
    kinds = [e.kind for e in feed_presence(tr, seq)]
    assert kinds == ["face_found", "face_lost"]


def test_presence_is_frame_rate_independent():
    # The same 2 s of face then 2 s without, at 10 and at 60 fps: same decisions in seconds.
    times = {}
    for fps in (10.0, 60.0):
        tr = PresenceTracker(FaceConfig(found_after_s=0.2, lost_after_s=0.5))
        n = int(2 * fps)
        times[fps] = [e.t for e in feed_presence(tr, [True] * n + [False] * n, fps)]
    assert len(times[10.0]) == len(times[60.0]) == 2
    np.testing.assert_allclose(times[10.0], times[60.0], atol=0.1 + 1e-9)
