"""Trackers driven with explicit timestamps: seconds, never frames."""

import pytest

from edge_monitor.config import FatigueConfig
from edge_monitor.fatigue import EyeClosureTracker, YawnTracker

CFG = FatigueConfig()


def run(tracker, seq, fps=30.0, start=0.0):
    """Feed ``(probability, seconds)`` segments (eyes closed, or the mouth wide open, at P >= 0.5)."""
    feed = lambda t, i, p: tracker.observe(t, i, None if p is None else p >= 0.5)  # noqa: E731
    events, t, i = [], start, 0
    for value, seconds in seq:
        for _ in range(round(seconds * fps)):
            events += feed(t, i, value)
            t += 1 / fps
            i += 1
    return events


def test_short_closures_are_blinks():
    tr = EyeClosureTracker(CFG)
    events = run(tr, [(0.1, 1.0), (0.9, 0.2), (0.1, 2.0), (0.9, 0.3), (0.1, 1.0)])
    assert events == []
    assert tr.blinks == 2
    assert tr.blink_mean_s == pytest.approx(0.25, abs=0.04)


def test_microsleep_and_long_closure_events():
    tr = EyeClosureTracker(CFG)
    events = run(tr, [(0.1, 1.0), (0.95, 1.2), (0.1, 1.0), (0.95, 2.5), (0.1, 1.0)])
    kinds = [e.kind for e in events]
    assert kinds == ["microsleep", "microsleep", "eyes_closed"]
    first, second, long_ = events
    assert second.data["duration_s"] == pytest.approx(2.5, abs=0.04)
    assert first.data["start_t"] == pytest.approx(1.0, abs=0.04)
    assert first.data["duration_s"] == pytest.approx(1.2, abs=0.04)
    assert long_.data["duration_s"] == pytest.approx(2.5, abs=0.04)
    assert tr.microsleeps.total == 2 and tr.long_closures == 1 and tr.blinks == 0


def test_closure_length_grows_while_the_eyes_stay_closed():
    tr = EyeClosureTracker(CFG)
    run(tr, [(0.1, 0.5), (0.9, 2.1)])
    assert tr.closed_s == pytest.approx(2.1 - 1 / 30, abs=0.02)


def test_a_gap_in_observations_ends_the_closure_at_the_last_closed_frame():
    tr = EyeClosureTracker(CFG)
    events = run(tr, [(0.9, 1.5), (None, 1.0)])
    assert [e.kind for e in events] == ["microsleep"]
    assert events[0].data["duration_s"] == pytest.approx(1.5 - 1 / 30, abs=0.02)
    assert tr.closed_s == 0.0


def test_perclos_needs_coverage_then_tracks_the_closed_share():
    cfg = FatigueConfig(perclos_window_s=10.0, perclos_min_coverage=0.5, perclos_warning=0.15)
    tr = EyeClosureTracker(cfg)
    run(tr, [(0.1, 4.0)])
    assert tr.perclos is None  # 4 s of a 10 s window observed: not yet
    # Then 10 s of a 1-s cycle with 0.3 s closed: PERCLOS ~0.3.
    events = run(tr, [(0.1, 0.7), (0.9, 0.3)] * 10, start=4.0)
    assert tr.perclos == pytest.approx(0.3, abs=0.03)
    rising = [e for e in events if e.kind == "perclos"]
    assert len(rising) == 1 and rising[0].data["above"] is True and rising[0].data["value"] >= 0.15
    falling = [e for e in run(tr, [(0.1, 12.0)], start=14.0) if e.kind == "perclos"]
    assert len(falling) == 1 and falling[0].data["above"] is False
    assert tr.max_perclos == pytest.approx(0.3, abs=0.04)


def test_perclos_is_frame_rate_independent():
    values = []
    for fps in (10.0, 30.0):
        tr = EyeClosureTracker(FatigueConfig(perclos_window_s=10.0))
        run(tr, [(0.1, 0.8), (0.9, 0.2)] * 12, fps=fps)
        values.append(tr.perclos)
    assert values[0] == pytest.approx(values[1], abs=0.02)
    assert values[1] == pytest.approx(0.2, abs=0.03)


def test_recent_microsleeps_expire_after_the_repeat_window():
    tr = EyeClosureTracker(FatigueConfig(repeat_window_s=20.0))
    run(tr, [(0.9, 1.2), (0.1, 1.0)])
    assert tr.microsleeps.count(5.0) == 1
    assert tr.microsleeps.count(25.0) == 0 and tr.microsleeps.total == 1


def test_yawns_need_a_sustained_open_mouth():
    tr = YawnTracker(FatigueConfig(yawn_min_s=1.5))
    # Talking: the mouth opens for fractions of a second, many times.
    assert run(tr, [(0.9, 0.4), (0.1, 0.3)] * 10) == []
    events = run(tr, [(0.9, 2.4), (0.1, 1.0)], start=10.0)
    assert [e.kind for e in events] == ["yawn"]
    assert events[0].data["duration_s"] == pytest.approx(2.4, abs=0.04)
    assert tr.yawns.total == 1


def test_a_long_closure_is_not_split_by_two_noisy_open_frames():
    # The webcam case of issue 15: 2.7 s closed with two frames read open near the middle was
    # a 1.3 s and a 1.5 s microsleep, and no alarm.
    tr = EyeClosureTracker(CFG)
    lengths = []
    events = []
    t = 0.0
    for i, (value, seconds) in enumerate([(0.1, 1.0), (0.9, 1.3), (0.1, 2 / 30), (0.9, 1.4), (0.1, 1.0)]):
        for _ in range(round(seconds * 30)):
            events += tr.observe(t, i, value >= 0.5)
            lengths.append(tr.closed_s)
            t += 1 / 30
    assert [e.kind for e in events] == ["microsleep", "eyes_closed"]
    assert events[0].data["duration_s"] == pytest.approx(2.77, abs=0.04)
    assert max(lengths) >= CFG.long_closure_s  # the alarm rule sees one closure over 2 s


def test_eyes_seen_open_for_reopen_s_end_the_closure_where_they_opened():
    cfg = FatigueConfig(reopen_s=0.3)
    tr = EyeClosureTracker(cfg)
    events = run(tr, [(0.9, 1.2), (0.1, 0.25), (0.9, 0.2), (0.1, 1.0)])
    # 0.25 s open is under reopen_s: one closure of 1.65 s, ended when the eyes opened for good.
    assert [e.kind for e in events] == ["microsleep"]
    assert events[0].data["duration_s"] == pytest.approx(1.65, abs=0.04)
    tr = EyeClosureTracker(FatigueConfig(reopen_s=0.0))  # no hysteresis: split in two
    events = run(tr, [(0.9, 1.2), (0.1, 0.25), (0.9, 0.2), (0.1, 1.0)])
    assert events[0].data["duration_s"] == pytest.approx(1.2, abs=0.04) and tr.blinks == 1


def test_unknown_eye_state_pauses_perclos_and_gives_no_blinks():
    cfg = FatigueConfig(perclos_window_s=10.0, perclos_min_coverage=0.5)
    tr = EyeClosureTracker(cfg)
    events, t = [], 0.0
    for k in range(30 * 20):  # 20 s of sunglasses: nothing known
        events += tr.observe(t, k, None)
        t += 1 / 30
    assert events == [] and tr.perclos is None and tr.blinks == 0 and tr.closed_s == 0.0


def test_yawn_event_carries_the_peak_mouth_opening():
    tr = YawnTracker(FatigueConfig(yawn_min_s=1.5))
    events, t = [], 0.0
    openings = [0.2] * 10 + [0.7, 0.9, 1.1, 0.95] * 12 + [0.1] * 10
    for k, o in enumerate(openings):
        events += tr.observe(t, k, o >= 0.6, o)
        t += 1 / 30
    assert [e.kind for e in events] == ["yawn"]
    assert events[0].data["peak_mouth_open"] == pytest.approx(1.1)
    assert events[0].data["duration_s"] == pytest.approx(48 / 30, abs=0.04)


def test_talking_pauses_end_a_yawn_run():
    tr = YawnTracker(FatigueConfig(yawn_min_s=1.5, yawn_reopen_s=0.1))
    assert run(tr, [(0.9, 0.5), (0.1, 0.15)] * 10) == []


def test_yawn_cut_by_a_lost_face_still_counts_if_long_enough():
    tr = YawnTracker(FatigueConfig(yawn_min_s=1.5))
    events = run(tr, [(0.9, 2.0), (None, 1.0)])
    assert [e.kind for e in events] == ["yawn"]


def test_perclos_clear_ratio_sets_where_the_warning_ends():
    # PERCLOS ~0.3 (warning at 0.15), then decaying with open eyes: the warning ends below 0.8 x 0.15
    # = 0.12 by default, below 0.5 x 0.15 = 0.075 with perclos_clear_ratio 0.5 (later).
    ends = []
    for ratio in (0.8, 0.5):
        cfg = FatigueConfig(perclos_window_s=10.0, perclos_warning=0.15, perclos_clear_ratio=ratio)
        tr = EyeClosureTracker(cfg)
        run(tr, [(0.1, 0.7), (0.9, 0.3)] * 10)
        falling = [e for e in run(tr, [(0.1, 12.0)], start=10.0) if e.kind == "perclos"]
        assert len(falling) == 1 and falling[0].data["above"] is False
        assert falling[0].data["value"] < ratio * 0.15 <= falling[0].data["value"] + 0.01
        ends.append(falling[0].t)
    assert ends[1] > ends[0] + 0.5


def test_max_gap_s_decides_whether_a_gap_ends_a_closure():
    # 1.2 s closed, 0.8 s unseen, 1.2 s closed: with the default 0.5 s gap two closures of 1.2 s (two
    # microsleeps); with max_gap_s 1.0 one closure of 3.2 s (a microsleep and a long closure).
    seq = [(0.9, 1.2), (None, 0.8), (0.9, 1.2), (0.1, 1.0)]
    short = run(EyeClosureTracker(FatigueConfig()), seq)
    assert [e.kind for e in short] == ["microsleep", "microsleep"]
    long_ = run(EyeClosureTracker(FatigueConfig(max_gap_s=1.0)), seq)
    assert [e.kind for e in long_] == ["microsleep", "eyes_closed"]
    assert long_[0].data["duration_s"] == pytest.approx(3.2, abs=0.05)
