"""The alert policy with explicit timestamps."""

import pytest

from edge_monitor.config import AttentionConfig, FatigueConfig, PolicyConfig
from edge_monitor.policy import AlertPolicy
from edge_monitor.types import DriverState


def policy(**kw):
    return AlertPolicy(FatigueConfig(), AttentionConfig(), PolicyConfig(**kw))


def drive(p, states, fps=10.0, start=0.0):
    """Feed (state_fn(t), seconds) segments; returns the alert events."""
    events, t, i = [], start, 0
    for fn, seconds in states:
        for _ in range(round(seconds * fps)):
            e = p.evaluate(t, i, fn(t))
            if e is not None:
                events.append(e)
            t += 1 / fps
            i += 1
    return events


def absent_from(t0):
    return lambda t: DriverState(distracted_s=max(0.0, t - t0))


def test_distraction_escalates_notice_warning_alarm_at_3_5_11_s():
    p = policy()
    events = drive(p, [(lambda t: DriverState(), 1.0), (absent_from(1.0), 12.0)])
    assert [(e.data["level"], e.data["previous"]) for e in events] == [
        ("notice", "ok"),
        ("warning", "notice"),
        ("alarm", "warning"),
    ]
    assert [e.t for e in events] == pytest.approx([4.0, 6.0, 12.0], abs=0.11)
    assert events[0].data["reason"].startswith("face absent")
    assert events[2].data["episode"] == 1


def test_a_head_turned_away_is_distraction_named_as_looking_away():
    p = policy()
    away = lambda t: DriverState(distracted_s=max(0.0, t - 1.0), away_cause="looking away")  # noqa: E731
    events = drive(p, [(lambda t: DriverState(), 1.0), (away, 6.0)])
    assert [e.data["level"] for e in events] == ["notice", "warning"]
    assert events[0].data["reason"].startswith("looking away: distracted 3.0")


def test_long_eye_closure_alarms_immediately_and_recovers_fast():
    p = policy(min_hold_s=2.0, recovery_s=1.0)
    closed = lambda t: DriverState(eyes_closed_s=t)  # noqa: E731
    events = drive(p, [(closed, 3.0), (lambda t: DriverState(), 5.0)])
    assert [e.data["level"] for e in events] == ["alarm", "ok"]
    assert events[0].t == pytest.approx(2.0, abs=0.11)
    assert events[0].data["reason"].startswith("eyes closed")
    # Closure ends at 3.0 s; ok after recovery_s (1 s).
    assert events[1].t == pytest.approx(4.0, abs=0.11)


def test_minimum_hold_keeps_a_brief_alarm_visible():
    p = policy(min_hold_s=3.0, recovery_s=0.5)
    closed = lambda t: DriverState(eyes_closed_s=2.0 + t)  # noqa: E731
    events = drive(p, [(closed, 0.2), (lambda t: DriverState(), 5.0)])
    assert [e.data["level"] for e in events] == ["alarm", "ok"]
    assert events[1].t - events[0].t == pytest.approx(3.0, abs=0.11)


def test_one_noisy_frame_does_not_flap_the_level():
    p = policy()
    states = [(absent_from(0.0), 4.0)]
    for _ in range(3):  # single frames that look fine inside a continuing absence
        states += [(lambda t: DriverState(), 0.1), (absent_from(0.0), 0.4)]
    events = drive(p, states)
    assert [e.data["level"] for e in events] == ["notice", "warning"]
    assert events[1].t == pytest.approx(5.0, abs=0.11)


def test_an_alarm_returning_within_the_cooldown_is_the_same_episode():
    p = policy(cooldown_s=30.0, min_hold_s=0.0, recovery_s=0.5)
    closed = lambda t: DriverState(eyes_closed_s=2.5)  # noqa: E731
    awake = lambda t: DriverState()  # noqa: E731
    events = drive(p, [(closed, 1), (awake, 2), (closed, 1), (awake, 40), (closed, 1)])
    alarms = [e for e in events if e.data["level"] == "alarm"]
    assert len(alarms) == 3  # an alarm is never suppressed...
    assert [e.data["episode"] for e in alarms] == [1, 1, 2]  # ...but one episode counts once


def test_perclos_and_repeated_microsleeps_warn_yawns_and_anger_notice():
    p = policy()
    assert p.proposals(DriverState(perclos=0.2)) == [("warning", "PERCLOS 0.20")]
    assert p.proposals(DriverState(perclos=0.1)) == []
    assert p.proposals(DriverState(recent_microsleeps=1))[0][0] == "notice"
    assert p.proposals(DriverState(recent_microsleeps=2))[0][0] == "warning"
    assert p.proposals(DriverState(recent_yawns=3))[0][0] == "notice"
    assert p.proposals(DriverState(recent_yawns=2)) == []
    angry = DriverState(negative_emotion="angry", negative_emotion_s=12.0)
    assert p.proposals(angry) == [("notice", "angry for 12 s")]
    assert p.proposals(DriverState(negative_emotion="angry", negative_emotion_s=5.0)) == []


def test_emotion_alone_never_goes_above_notice():
    p = policy()
    angry = lambda t: DriverState(negative_emotion="angry", negative_emotion_s=60.0 + t)  # noqa: E731
    events = drive(p, [(angry, 120.0)], fps=2.0)
    assert [e.data["level"] for e in events] == ["notice"]


def test_blank_picture_is_a_fault_that_overrides_the_driver_state():
    p = policy(fault_after_s=2.0)
    blank = lambda t: DriverState(blank_s=t, distracted_s=t)  # noqa: E731
    events = drive(p, [(blank, 3.0), (lambda t: DriverState(), 3.0)])
    assert [e.data["level"] for e in events] == ["fault", "ok"]
    assert events[0].t == pytest.approx(2.0, abs=0.11) and "blank" in events[0].data["reason"]
    # Entered at 2 s and held the default 2 s; the picture is back at 3 s, 1 s of recovery: drops at 4 s.
    assert events[1].t == pytest.approx(4.0, abs=0.11)


def test_cooldown_never_suppresses_an_alarm_while_its_cause_lasts():
    """Defaults: a second long closure 3 s after the first alarm ended sounds at once, for its whole length."""
    p = policy()
    assert p._cfg.cooldown_s == 30.0
    first_end = None
    fps, t, i = 10.0, 0.0, 0
    segments = [(2.0, 3.0), (0.0, 3.0), (2.0, 4.0)]  # (closed from... s, duration): closure, awake, closure
    levels = []
    for closing, seconds in segments:
        for k in range(round(seconds * fps)):
            closed_s = closing + k / fps if closing else 0.0
            e = p.evaluate(t, i, DriverState(eyes_closed_s=closed_s))
            if e is not None and e.data["previous"] == "alarm":
                first_end = first_end or t
            levels.append((t, closed_s, p.level))
            t, i = t + 1 / fps, i + 1
    assert first_end is not None and first_end < 6.0  # the first alarm ended before the second closure
    # Every frame whose closure is past long_closure_s is at alarm, inside the cooldown too.
    assert all(level == "alarm" for _, closed_s, level in levels if closed_s >= 2.0)
    assert p.episode == 1  # ...and both are one episode


def test_cooldown_is_described_as_it_behaves():
    from dataclasses import fields

    from edge_monitor.config import PolicyConfig
    from tests.conftest import REPO

    doc = next(f for f in fields(PolicyConfig) if f.name == "cooldown_s").metadata["doc"]
    assert "episode" in doc and "cannot" not in doc
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "never suppressed" in readme and "cannot alarm again" not in readme
