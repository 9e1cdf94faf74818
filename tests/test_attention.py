"""Attention rules (edge_monitor.attention) with explicit timestamps: no clock, no video."""

from __future__ import annotations

import dataclasses

import pytest

from edge_monitor.attention import AttentionTracker, DistractionTimer, VatsWindow, judge_away
from edge_monitor.config import AttentionConfig, FatigueConfig, PolicyConfig, parse_config
from edge_monitor.errors import ConfigRangeError
from edge_monitor.policy import AlertPolicy
from edge_monitor.types import URGENT_KINDS, DriverState, Event

AWAY, ROAD = True, False


def timeline(segments, fps=10.0, start=0.0):
    """[(value, seconds), ...] → [(t, value), ...] at ``fps``, times computed (no accumulated error)."""
    out, i = [], 0
    for value, seconds in segments:
        for _ in range(round(seconds * fps)):
            out.append((start + i / fps, value))
            i += 1
    return out


def timer_values(segments, fps=10.0, **kw):
    args = {"glance_reset_s": 2.0, "refill_rate": 2.0, "thresholds": (3.0, 5.0, 11.0)} | kw
    tr = DistractionTimer(**args)
    return [(t, tr.update(t, away)) for t, away in timeline(segments, fps)]


def at(values, t):
    """The value at the frame nearest ``t``."""
    return min(values, key=lambda tv: abs(tv[0] - t))[1]


# --- the distraction timer ----------------------------------------------------------------------


def test_timer_counts_away_time_from_the_first_away_frame():
    v = timer_values([(ROAD, 1.0), (AWAY, 5.0)])
    assert at(v, 1.0) == 0.0  # the first away frame
    assert at(v, 4.0) == pytest.approx(3.0)
    assert v[-1][1] == pytest.approx(4.9)


def test_a_short_glance_back_refills_the_timer_but_never_clears_it():
    # The measurement: away 9 s, a 0.5 s glance at the camera, away again.
    v = timer_values([(AWAY, 9.0), (ROAD, 0.5), (AWAY, 4.0)])
    after_glance = at(v, 9.5)
    assert after_glance == pytest.approx(9.0 - 2.0 * 0.5)  # refilled at 2 s per s, not reset
    assert min(val for t, val in v if t >= 5.0) >= 5.0 - 1e-9  # the warning's 5 s is never undercut
    assert v[-1][1] == pytest.approx(8.0 + 3.9)  # the second stretch goes on from 8 s


def test_with_refill_rate_0_a_glance_pauses_the_timer():
    v = timer_values([(AWAY, 4.0), (ROAD, 1.9), (AWAY, 1.0)], refill_rate=0.0)
    assert at(v, 5.5) == pytest.approx(4.0)  # paused during the 1.9 s glance
    assert v[-1][1] == pytest.approx(4.0 + 0.9)


def test_watching_the_road_for_glance_reset_s_clears_the_timer():
    v = timer_values([(AWAY, 20.0), (ROAD, 3.0)], refill_rate=0.0)
    assert at(v, 21.9) == pytest.approx(20.0)  # 1.9 s on the road: not yet
    assert at(v, 22.0) == 0.0  # 2.0 s: cleared
    v = timer_values([(AWAY, 20.0), (ROAD, 1.9), (AWAY, 0.1), (ROAD, 1.9)], refill_rate=0.0)
    assert v[-1][1] == pytest.approx(20.1)  # two short looks are not one long one


def test_unknown_frames_neither_count_nor_clear_and_break_a_look_at_the_road():
    v = timer_values([(AWAY, 4.0), (None, 3.0), (AWAY, 1.0)])
    assert at(v, 6.9) == pytest.approx(4.0)  # a blank picture: frozen, not distraction
    assert v[-1][1] == pytest.approx(4.9)
    v = timer_values([(AWAY, 4.0), (ROAD, 1.5), (None, 0.1), (ROAD, 1.5)], refill_rate=0.0)
    assert v[-1][1] == pytest.approx(4.0)  # the unknown frame split the look at the road


def test_the_timer_does_not_depend_on_the_frame_rate():
    segs = [(ROAD, 1.0), (AWAY, 2.0), (ROAD, 0.6), (AWAY, 6.0), (ROAD, 1.0), (AWAY, 1.0)]
    slow, fast = timer_values(segs, fps=10.0), timer_values(segs, fps=30.0)
    for t in (2.5, 3.3, 6.0, 9.6, 10.1, 10.6, 11.5):
        assert at(slow, t) == pytest.approx(at(fast, t), abs=1e-6), t
    assert at(slow, 3.6) == pytest.approx(2.0 - 1.2)  # below notice: refilled freely
    assert at(slow, 10.6) == pytest.approx(5.0)  # but not below the warning's 5 s (6.8 - 2.0)
    assert slow[-1][1] == pytest.approx(5.0 + 0.9)


# --- visual attention time-sharing ----------------------------------------------------------------


def test_vats_sums_away_time_over_a_sliding_window():
    w = VatsWindow(window_s=30.0, limit_s=10.0)
    for t, away in timeline([(AWAY, 5.0), (ROAD, 40.0)]):
        total = w.update(t, away)
        if t == pytest.approx(20.0):
            assert total == pytest.approx(5.0)
        if t == pytest.approx(34.0):
            assert total == pytest.approx(1.0)  # only 4..5 s is within 30 s
    assert total == 0.0 and not w.active  # the window slid past; never reached the limit


def attention(segments, cfg=None, fps=10.0, closed=None):
    """Run an AttentionTracker; returns [(t, state)] and the events raised."""
    tr = AttentionTracker(cfg or AttentionConfig())
    states, events = [], []
    for i, (t, away) in enumerate(timeline(segments, fps)):
        closed_s = closed(t) if closed else 0.0
        state, ev = tr.update(t, i, away, closed_s)
        states.append((t, state))
        events += ev
    return states, events


def time_sharing(cycles, away_s=2.5, back_s=1.0):
    return [(ROAD, 2.0)] + [(AWAY, away_s), (ROAD, back_s)] * cycles


def test_time_sharing_without_any_long_glance_latches_the_vats_warning():
    # The reading-a-phone pattern: 2.5 s away, 1 s back, eight times (71 % off the road).
    states, events = attention(time_sharing(8))
    first = next(t for t, s in states if s.vats_warning)
    assert first == pytest.approx(2.0 + 3 * 3.5 + 2.5, abs=0.051)  # 10 s of away time summed
    assert all(s.vats_warning for t, s in states if t >= first)  # latched while the pattern goes on
    assert max(s.distracted_s for _, s in states) < 11.0  # the timer alone would never alarm
    assert not events  # no single look away lasts 3 s after the warning


def test_vats_is_reset_only_by_glance_reset_s_on_the_road():
    states, _ = attention([*time_sharing(4)[:-1], (ROAD, 1.9), (AWAY, 0.5), (ROAD, 2.5)])
    last = states[-1][0]
    assert all(s.vats_warning for t, s in states if 15.0 <= t < last - 0.5)  # 1.9 s back is not enough
    assert not states[-1][1].vats_warning and states[-1][1].vats_s == 0.0  # 2 s back is


# --- sleep and unresponsive ---------------------------------------------------------------------


def test_sleep_after_3_s_and_unresponsive_after_6_s_of_closed_eyes_once_each():
    closed = lambda t: max(0.0, t - 1.0) if t < 9.0 else 0.0  # noqa: E731 - closed from 1 s to 9 s
    _, events = attention([(ROAD, 10.0)], closed=closed)
    assert [e.kind for e in events] == ["sleep", "unresponsive"]
    sleep, unresponsive = events
    assert sleep.t == pytest.approx(4.1, abs=0.01)  # > 3 s, not = 3 s
    assert sleep.data == {"start_t": 1.0, "duration_s": 3.1}
    assert unresponsive.t == pytest.approx(7.0, abs=0.01)
    assert unresponsive.data["start_t"] == 1.0 and unresponsive.data["duration_s"] == 6.0
    assert unresponsive.data["cause"].startswith("eyes closed")
    assert all(e.urgent for e in events) and set(URGENT_KINDS) == {"sleep", "unresponsive"}
    assert not Event("microsleep", 1.0, 1).urgent


def test_invisible_driver_is_unresponsive_3_s_after_the_distraction_warning():
    states, events = attention([(ROAD, 1.0), (AWAY, 20.0)])
    assert [e.kind for e in events] == ["unresponsive"]
    e = events[0]
    assert e.t == pytest.approx(1.0 + 5.0 + 3.0, abs=0.051)
    assert e.data["start_t"] == 1.0 and e.data["duration_s"] == pytest.approx(8.0, abs=0.051)
    assert "warning" in e.data["cause"]
    assert states[-1][1].unresponsive


def test_a_look_back_answers_the_warning_but_not_an_alarm_ignored_for_6_s():
    # Away 6 s (warning at 5 s), a 0.5 s look back (the timer 6 → 5 s: the warning stays), away again:
    # the look back answered the warning; the alarm at 11 s of timer is then ignored for 6 s.
    _states, events = attention([(AWAY, 6.0), (ROAD, 0.5), (AWAY, 14.0)])
    assert [e.kind for e in events] == ["unresponsive"]
    alarm_t = 6.5 + (11.0 - 5.0)
    assert events[0].t == pytest.approx(alarm_t + 6.0, abs=0.051)
    assert events[0].data["start_t"] == 6.5 and "alarm" in events[0].data["cause"]


def test_short_looks_away_then_a_long_one_is_unresponsive_3_s_after_the_vats_warning():
    # 2 s away, 1.5 s back: each look back refills the timer, which never reaches a level; VATS does.
    states, events = attention([*time_sharing(4, away_s=2.0, back_s=1.5), (AWAY, 6.0)])
    assert max(s.distracted_s for t, s in states if t < 18.0) < 3.0
    vats_t = next(t for t, s in states if s.vats_warning)
    assert vats_t == pytest.approx(2.0 + 4 * 3.5 + 2.0, abs=0.051)
    assert [e.kind for e in events] == ["unresponsive"]
    assert events[0].t == pytest.approx(vats_t + 3.0, abs=0.051)
    assert events[0].data["start_t"] == pytest.approx(16.0)


def test_unresponsive_is_raised_once_until_the_driver_answers():
    segs = [(AWAY, 20.0), (ROAD, 0.1), (AWAY, 0.1), (ROAD, 3.0), (AWAY, 9.0)]
    _, events = attention(segs)
    assert [e.t for e in events] == pytest.approx([8.0, 20.2 + 3.0 + 8.0], abs=0.051)


# --- the away judgement (the seam for head pose) --------------------------------------------------


@pytest.mark.parametrize(
    ("face", "picture", "landmarks", "head", "expected"),
    [
        (True, True, True, None, (False, "watching the road")),  # today: the face alone decides
        (False, True, True, None, (True, "face absent")),
        (True, True, True, True, (True, "looking away")),  # issue 15: beyond the calibrated limits
        (True, True, True, False, (False, "watching the road")),
        (False, False, True, None, (None, "camera cannot see")),  # blank or dark: unknown
        (True, True, False, None, (None, "face unreadable")),  # degraded: a fault, not distraction
    ],
)
def test_judge_away(face, picture, landmarks, head, expected):
    assert judge_away(face, picture, landmarks, head) == expected


# --- through the policy: openpilot's scenarios without vehicle signals ------------------------------


def alerts(segments, fps=10.0, cfg=None):
    """Attention tracker + alert policy, as the pipeline wires them; returns the alert events."""
    cfg = cfg or AttentionConfig()
    tr, policy = AttentionTracker(cfg), AlertPolicy(FatigueConfig(), cfg, PolicyConfig())
    out = []
    for i, (t, away) in enumerate(timeline(segments, fps)):
        s, _ = tr.update(t, i, away)
        state = DriverState(
            distracted_s=s.distracted_s, away_cause=s.cause, vats_s=s.vats_s, vats_warning=s.vats_warning
        )
        e = policy.evaluate(t, i, state)
        if e is not None:
            out.append((round(e.t, 2), e.data["level"], e.data["reason"]))
    return out


def test_policy_invisible_driver_notice_warning_alarm_at_3_5_11_s():
    a = alerts([(ROAD, 1.0), (AWAY, 13.0)])
    assert [(t, lvl) for t, lvl, _ in a] == [(4.0, "notice"), (6.0, "warning"), (12.0, "alarm")]
    assert all(r.startswith("face absent: distracted") for _, _, r in a)


def test_policy_glance_back_does_not_drop_the_level():
    a = alerts([(AWAY, 9.0), (ROAD, 0.5), (AWAY, 4.0), (ROAD, 6.0)])
    levels = [(t, lvl) for t, lvl, _ in a]
    assert levels[:3] == [(3.0, "notice"), (5.0, "warning"), (9.5 + 3.0, "alarm")]
    assert levels[3:] == [(13.5 + 2.0 + 1.0, "ok")]  # 2 s back clears the timer, 1 s recovery


def test_policy_last_second_responder_keeps_the_alarm_through_an_appearance():
    a = alerts([(AWAY, 11.5), (ROAD, 1.5), (AWAY, 1.0), (ROAD, 5.0)])
    assert [(t, lvl) for t, lvl, _ in a] == [(3.0, "notice"), (5.0, "warning"), (11.0, "alarm"), (17.0, "ok")]


def test_policy_time_sharing_warns():
    # The pattern: 2.5 s away, 1 s back, eight times. Each look back is too short to clear
    # the timer, so it warns at 5 s (t = 11 s); VATS (10 s away in 30 s) is reached at 15 s.
    a = alerts([*time_sharing(8), (ROAD, 5.0)])
    assert [(t, lvl) for t, lvl, _ in a][:2] == [(8.0, "notice"), (11.0, "warning")]
    assert a[1][2].startswith("face absent: distracted 5.0 s")
    assert "alarm" not in [lvl for _, lvl, _ in a]
    assert a[-1][1] == "ok" and a[-1][0] == pytest.approx(29.0 + 2.0 + 1.0)  # back from 29 s on


def test_policy_short_frequent_looks_away_warn_by_vats_naming_it():
    # 2 s away, 1.5 s back: the timer is refilled to 0 every time; only the time-sharing rule sees it.
    a = alerts([*time_sharing(8, away_s=2.0, back_s=1.5), (ROAD, 5.0)])
    assert [lvl for _, lvl, _ in a] == ["warning", "ok"]
    assert a[0][0] == pytest.approx(2.0 + 4 * 3.5 + 2.0, abs=0.051)
    assert a[0][2] == "visual time-sharing: away 10.0 s of the last 30 s"


def test_policy_sleep_keeps_the_alarm_and_degraded_monitoring_is_a_fault():
    p = AlertPolicy(FatigueConfig(long_closure_s=5.0), AttentionConfig(), PolicyConfig())
    assert p.proposals(DriverState(eyes_closed_s=3.2, asleep=True)) == [
        ("alarm", "asleep: eyes closed 3.2 s")
    ]
    p = AlertPolicy(FatigueConfig(), AttentionConfig(), PolicyConfig(degraded_after_s=5.0))
    why = "face found but its landmarks are unreliable (score 0.20)"
    assert p.proposals(DriverState(degraded=why, degraded_s=4.9)) == []
    assert p.proposals(DriverState(degraded=why, degraded_s=5.0)) == [
        ("fault", f"monitoring degraded for 5.0 s: {why}")
    ]
    assert p.proposals(DriverState(blank_s=2.0, picture="dark")) == [
        ("fault", "camera picture dark for 2.0 s")
    ]


def test_degraded_fault_reaches_the_driver_within_10_s():
    assert PolicyConfig().degraded_after_s <= 10.0
    with pytest.raises(ConfigRangeError, match="degraded_after_s"):
        parse_config("policy:\n  degraded_after_s: 12\n")


def test_attention_config_relations_are_checked():
    with pytest.raises(ConfigRangeError, match="sleep_s < unresponsive_closed_s"):
        parse_config("attention:\n  sleep_s: 6\n  unresponsive_closed_s: 5\n")
    with pytest.raises(ConfigRangeError, match="vats_s <= vats_window_s"):
        parse_config("attention:\n  vats_s: 40\n")
    cfg = parse_config("attention:\n  glance_reset_s: 3\n  glance_refill_rate: 0\n")
    assert dataclasses.asdict(cfg.attention)["glance_reset_s"] == 3.0
