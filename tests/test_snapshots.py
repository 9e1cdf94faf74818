"""Privacy by default: no pictures unless snapshots are enabled, then a bounded number."""

import numpy as np

from edge_monitor.outputs.events import read_events
from edge_monitor.outputs.snapshots import SnapshotSink
from edge_monitor.types import EmotionState, Event, Frame, StepResult
from tests.conftest import replay


def result(i, level=None):
    events = (
        ()
        if level is None
        else (Event("alert", i / 10, i, {"level": level, "previous": "ok", "reason": "r"}),)
    )
    bgr = np.full((48, 64, 3), i % 255, np.uint8)
    return StepResult(
        frame=Frame(bgr, bgr[..., 0], i / 10, i),
        face=None,
        face_detected=False,
        face_present=False,
        emotion=None,
        stable=EmotionState(None, 0.0, {}),
        events=events,
    )


def test_only_alerts_at_or_above_the_level_are_saved_and_old_ones_pruned(tmp_path):
    sink = SnapshotSink(tmp_path / "snaps", "warning", keep=3)
    for i in range(20):
        sink.on_frame(result(i, level=("notice", "warning", "alarm", None)[i % 4]))
    files = sorted(p.name for p in (tmp_path / "snaps").iterdir())
    assert sink.saved == 10 and len(files) == 3
    assert all(name.endswith(("_warning.jpg", "_alarm.jpg")) for name in files)
    assert (tmp_path / "snaps").stat().st_mode & 0o077 == 0  # private to the service user


def test_a_default_run_writes_nothing_but_the_event_log(tmp_path, clip):
    events = tmp_path / "state" / "events.jsonl"
    assert replay(clip("pyfeat/face_noface.mov"), events) == 0
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["events.jsonl"]


def test_enabled_snapshots_go_beside_the_event_log(tmp_path, clip):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("snapshots:\n  enabled: true\n  min_level: notice\n")
    events = tmp_path / "state" / "events.jsonl"
    assert replay(clip("pyfeat/face_noface.mov"), events, "--config", cfg) == 0
    snaps = sorted(p.name for p in (tmp_path / "state" / "snapshots").glob("*.jpg"))
    alerts = [e for e in read_events(events) if e["kind"] == "alert" and e["level"] != "ok"]
    assert alerts, "the clip raises a notice (else this test shows nothing)"
    # One JPEG per frame with an alert at or above notice, named after its time, frame and level.
    assert snaps == sorted({f"{e['t']:010.3f}s_frame{e['frame']:07d}_{e['level']}.jpg" for e in alerts})
