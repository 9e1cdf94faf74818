"""Issue-4 acceptance on real clips: drowsiness, distraction and no false alarms."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_monitor.cli import main
from edge_monitor.levels import rank
from edge_monitor.outputs.events import read_events

pytestmark = pytest.mark.slow


def replay(tmp_path, video, *extra, name="e.jsonl"):
    events = tmp_path / name
    assert main(["--video", str(video), "--events", str(events), "--quiet", "--gpio", "off", *extra]) == 0
    return read_events(events)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Each development clip replayed once with the default config (the replays are shared)."""
    from tests.conftest import require_shared

    cache: dict[str, list[dict]] = {}

    def get(name: str) -> list[dict]:
        if name not in cache:
            out = tmp_path_factory.mktemp("replay")
            cache[name] = replay(out, require_shared(f"clips/{name}"))
        return cache[name]

    return get


def test_closed_eyes_at_the_start_raise_the_alarm_at_2_s(replayed):
    ev = replayed("pyfeat/WolfgangLanger_Pexels.mp4")
    alarms = [e for e in ev if e["kind"] == "alert" and e["level"] == "alarm"]
    closures = [e for e in ev if e["kind"] == "eyes_closed" and e["start_t"] <= 1.0]
    assert alarms, [e for e in ev if e["kind"] in ("alert", "eyes_closed", "microsleep")]
    # Issue 15 acceptance: the alarm still comes at 2.0 +- 0.3 s (the eyes are closed from the start).
    assert alarms[0]["t"] == pytest.approx(2.0, abs=0.3)
    assert alarms[0]["reason"].startswith("eyes closed")
    assert closures and closures[0]["duration_s"] >= 2.0
    s = ev[-1]
    assert s["kind"] == "summary" and s["long_closures"] >= 1 and s["level_s"]["alarm"] > 0


def test_no_yawn_for_a_hand_over_the_mouth_or_a_laugh(replayed):
    # The demo clip: a hand over her mouth at about 6-9.5 s, laughing at about 11-13.5 s; the eye
    # and yawn models alone read both as yawns (P(yawn) up to 0.96 and 0.98).
    ev = replayed("pyfeat/WolfgangLanger_Pexels.mp4")
    assert [e for e in ev if e["kind"] == "yawn"] == []
    assert ev[-1]["yawns"] == 0


def test_the_demo_driver_is_calibrated_from_her_attentive_frames(replayed):
    ev = replayed("pyfeat/WolfgangLanger_Pexels.mp4")
    calibrated = [e for e in ev if e["kind"] == "calibrated"]
    # Eyes closed for the first 4 s: those frames are not learnt from, so the calibration ends
    # at least 5 s (calibration.learn_s) of open-eyed frames later.
    assert len(calibrated) == 1 and calibrated[0]["t"] >= 4.0 + 5.0
    s = ev[-1]
    assert s["calibration"]["state"] == "calibrated"
    assert 0.2 < s["calibration"]["ear"] < 0.4 and s["calibration"]["mouth_open"] < 0.2
    assert s["face_pct"] >= 99.0 and s["attentive_pct"] <= s["face_pct"]


@pytest.mark.parametrize("name", ["pyfeat/single_face.mp4", "fer/woman2.mp4"])
def test_an_awake_talking_driver_gets_nothing_above_notice(replayed, name):
    ev = replayed(name)
    kinds = [e["kind"] for e in ev]
    assert "microsleep" not in kinds and "yawn" not in kinds and "eyes_closed" not in kinds
    assert all(rank(e["level"]) <= rank("notice") for e in ev if e["kind"] == "alert")
    s = ev[-1]
    assert s["microsleeps"] == 0 and s["yawns"] == 0
    assert s["face_pct"] >= 99.0
    # single_face is 2.4 s long: still calibrating at its end; woman2 (15.5 s) is calibrated.
    assert s["calibration"]["state"] == ("calibrating" if "single" in name else "calibrated")


def test_sunglasses_make_the_eye_state_unknown(tmp_path, clip):
    """woman2 with dark sunglasses synthesised on every frame: eyes hidden, no blinks, no closures."""
    from benchmarks.sunglasses import eye_squares_finder, put_on_sunglasses
    from edge_monitor.config import load_config

    find, _ = eye_squares_finder(load_config())  # where the eyes are, before the lenses go on
    rng = np.random.default_rng(0)
    out = tmp_path / "sunglasses.mp4"
    cap = cv2.VideoCapture(str(clip("fer/woman2.mp4")))
    writer, eyes, n = None, None, 0
    while n < 150:  # 5 s
        ok, bgr = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        eyes = find(bgr, gray) or eyes
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 29.97, gray.shape[::-1])
        shaded = put_on_sunglasses(gray, eyes, rng) if eyes is not None else gray
        writer.write(cv2.cvtColor(shaded, cv2.COLOR_GRAY2BGR))
        n += 1
    writer.release()
    ev = replay(tmp_path, out)
    hidden = [e for e in ev if e["kind"] == "eyes_hidden"]
    assert hidden and hidden[0]["hidden"] is True and hidden[0]["t"] < 1.0
    s = ev[-1]
    assert s["face_pct"] >= 80.0  # the face is still found behind the sunglasses
    assert s["eyes_hidden_s"] >= 0.7 * s["duration_s"]
    assert s["blinks"] == 0 and s["microsleeps"] == 0 and s["max_perclos"] == 0.0


@pytest.fixture(scope="module")
def long_absence(tmp_path_factory):
    """face_noface.mov then no_face.mp4: a face, the cut at frame ~73, then > 5 s without one."""
    from tests.conftest import require_shared

    out = tmp_path_factory.mktemp("clips") / "face_then_long_absence.mp4"
    parts = [require_shared("clips/pyfeat/face_noface.mov"), require_shared("clips/pyfeat/no_face.mp4")]
    writer = None
    cut_frame = None
    n = 0
    for part in parts:
        cap = cv2.VideoCapture(str(part))
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, (w, h))
            writer.write(cv2.resize(frame, (w, h)))
            n += 1
        cut_frame = cut_frame or n
    writer.release()
    return out


def test_absence_notice_at_3_s_and_warning_at_5_s(tmp_path, long_absence):
    ev = replay(tmp_path, long_absence)
    lost = next(e for e in ev if e["kind"] == "face_lost")
    absent_from = lost["last_seen_t"] + 1 / 24  # the first frame without the face
    alerts = [e for e in ev if e["kind"] == "alert"]
    levels = [e["level"] for e in alerts]
    assert levels[:2] == ["notice", "warning"], alerts
    notice, warning = alerts[0], alerts[1]
    assert notice["t"] - absent_from == pytest.approx(3.0, abs=0.3)
    assert warning["t"] - absent_from == pytest.approx(5.0, abs=0.3)
    assert notice["reason"].startswith("face absent")


def test_face_noface_clip_gives_the_notice_3_s_after_the_cut(tmp_path, clip):
    ev = replay(tmp_path, clip("pyfeat/face_noface.mov"))
    lost = next(e for e in ev if e["kind"] == "face_lost")
    notice = next(e for e in ev if e["kind"] == "alert" and e["level"] == "notice")
    # The clip ends ~3.9 s after the cut: long enough for the notice, too short for the warning.
    assert notice["t"] - lost["last_seen_t"] == pytest.approx(3.0, abs=0.3)


def test_fast_and_realtime_replays_give_the_same_alerts(tmp_path, clip):
    video = clip("pyfeat/single_face.mp4")
    fast = replay(tmp_path, video, name="fast.jsonl")
    real = replay(tmp_path, video, "--realtime", name="real.jsonl")
    key = lambda ev: [(e["kind"], e.get("level")) for e in ev if e["kind"] != "summary"]  # noqa: E731
    assert key(fast) == key(real)
