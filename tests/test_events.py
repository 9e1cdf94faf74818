"""Tests of the JSON Lines event log."""

from __future__ import annotations

import json
import logging
import math
import os

import numpy as np
import pytest

from edge_monitor.errors import OutputError
from edge_monitor.outputs.events import EventLog, json_safe, read_events
from edge_monitor.types import Event


def test_append_mode_keeps_earlier_runs(tmp_path):
    path = tmp_path / "runs" / "deep" / "events.jsonl"  # parent dirs are created
    with EventLog(path) as log:
        log.write(Event("start", 0.0, 0))
    with EventLog(path) as log:
        log.write(Event("start", 0.0, 0, {"run": 2}))
    records = read_events(path)
    assert [r["kind"] for r in records] == ["start", "start"]
    assert records[1]["run"] == 2


def test_one_record_per_line_with_t_frame_kind_first(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        assert log.path == path
        log.write(Event("face_found", 1.23456, 37, {"box": [1, 2, 3, 4]}, id="e1"))
        log.write(Event("emotion", 2.5, 75, {"label": "happy", "confidence": 0.8}))
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 2
    assert lines[0] == '{"t":1.235,"frame":37,"kind":"face_found","id":"e1","box":[1,2,3,4]}'
    assert list(json.loads(lines[1]))[:4] == ["t", "frame", "kind", "id"]


def test_non_finite_floats_become_null(tmp_path):
    path = tmp_path / "events.jsonl"
    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": -math.inf}], "d": np.float32("nan"), "e": 0.5}
    with EventLog(path) as log:
        log.write(Event("emotion", float("nan"), 3, data, id="e1"))
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert "NaN" not in line and "Infinity" not in line
    record = json.loads(line)  # strict JSON again
    assert record == {
        "t": None,
        "frame": 3,
        "kind": "emotion",
        "id": "e1",
        "a": None,
        "b": [1.0, None, {"c": None}],
        "d": None,
        "e": 0.5,
    }


def test_json_safe_converts_numpy_values():
    out = json_safe({"x": np.array([1.5, np.nan]), "n": np.int64(4), "ok": True, "s": "s"})
    assert out == {"x": [1.5, None], "n": 4, "ok": True, "s": "s"}
    assert type(out["n"]) is int


def test_read_events_skips_truncated_last_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"t":0,"frame":0,"kind":"start"}\n\n{"t":1,"frame":30,"kind":"emo', encoding="utf-8")
    assert read_events(path) == [{"t": 0, "frame": 0, "kind": "start"}]


def test_read_events_raises_on_corrupt_middle_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"t":0,"frame":0,"kind":"start"}\n{"t":1,\n{"t":2,"frame":60,"kind":"x"}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="line 2"):
        read_events(path)


def test_writes_after_close_are_dropped_and_close_is_idempotent(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.write(Event("start", 0.0, 0))
    log.close()
    log.close()
    log.write(Event("late", 1.0, 30))
    assert log.dropped == 1
    assert [r["kind"] for r in read_events(path)] == ["start"]


def test_unopenable_path_raises_output_error(tmp_path):
    with pytest.raises(OutputError, match="writable"):
        EventLog(tmp_path)  # a directory
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        EventLog(blocker / "events.jsonl")  # parent is a regular file
    assert "\n" not in str(info.value) and str(blocker) in str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_disk_full_is_swallowed_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="edge_monitor.events")
    log = EventLog("/dev/full")
    for i in range(3):
        log.write(Event("emotion", i / 30.0, i, {"label": "sad"}))  # must not raise
    log.close()
    log.close()
    assert log.dropped == 3
    warnings = [r for r in caplog.records if r.name == "edge_monitor.events"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


# --- durability: partial lines, rotation, fsync -------------------------------------------------


def test_a_partial_last_line_is_kept_and_the_new_run_starts_on_a_new_line(tmp_path, caplog):
    from edge_monitor.outputs.events import EventLog, read_events
    from edge_monitor.types import Event

    path = tmp_path / "e.jsonl"
    before = '{"t":0.0,"frame":0,"kind":"start"}\n{"t":1.0,"fra'  # killed mid-write
    path.write_text(before)
    assert [r["kind"] for r in read_events(path)] == ["start"]
    with caplog.at_level("WARNING"), EventLog(path) as log:
        log.write(Event("start", 0.0, 0))
        log.write(Event("face_found", 0.1, 3))
    assert "partial line" in caplog.text
    text = path.read_text()
    assert text.startswith(before + "\n")  # only appended to
    assert [r["kind"] for r in read_events(path)] == ["start", "start", "face_found"]


def test_a_file_that_is_only_a_partial_line_is_kept(tmp_path):
    from edge_monitor.outputs.events import EventLog, read_events
    from edge_monitor.types import Event

    path = tmp_path / "e.jsonl"
    path.write_text('{"t":0.0,"fr')
    with EventLog(path) as log:
        log.write(Event("start", 0.0, 0))
    assert path.read_text().startswith('{"t":0.0,"fr\n')
    assert [r["kind"] for r in read_events(path)] == ["start"]


def test_a_bad_line_mid_file_is_still_an_error(tmp_path):
    from edge_monitor.outputs.events import read_events

    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"t":0.0,"frame":0,"kind":"start"}\n{"t":1.0,"fra\n{"t":1.0,"frame":3,"kind":"face_found"}\n'
    )
    with pytest.raises(ValueError, match="line 2"):
        read_events(path)


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40,  # a video
        b"x" * 100_000,  # 100 kB, no newline
        b"hello\nworld\n",  # a text file
        b'{"t":0.0,"frame":0,"kind":"start"}\nnot json\n',  # a log with something else appended
    ],
    ids=["video", "100kB-no-newline", "text", "bad-last-line"],
)
def test_a_file_that_is_not_an_event_log_is_refused_untouched(tmp_path, content):
    from edge_monitor.outputs.events import EventLog
    from edge_monitor.outputs.logfile import NotAnEventLogError

    path = tmp_path / "v.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotAnEventLogError, match="not a JSON Lines event log"):
        EventLog(path)
    assert path.read_bytes() == content


def test_a_fifo_is_refused_without_blocking(tmp_path):
    import os

    from edge_monitor.outputs.events import EventLog
    from edge_monitor.outputs.logfile import NotAnEventLogError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotAnEventLogError, match="not a regular file"):
        EventLog(fifo)


def test_rotation_by_size_keeps_n_files_and_loses_nothing_recent(tmp_path):
    from edge_monitor.outputs.events import EventLog, read_events
    from edge_monitor.types import Event

    path = tmp_path / "e.jsonl"
    with EventLog(path, max_bytes=400, keep=2) as log:
        for i in range(40):
            log.write(Event("face_found", float(i), i))
        rotations = log.rotations
    assert rotations >= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl", "e.jsonl.1", "e.jsonl.2"]
    frames = [
        r["frame"] for name in ("e.jsonl.2", "e.jsonl.1", "e.jsonl") for r in read_events(tmp_path / name)
    ]
    assert frames == list(range(frames[0], 40))  # contiguous up to the newest
    assert all((tmp_path / n).stat().st_size <= 400 + 60 for n in ("e.jsonl.1", "e.jsonl.2"))


def test_alerts_and_urgent_events_are_fsynced(tmp_path, monkeypatch):
    import os

    from edge_monitor.outputs.events import EventLog
    from edge_monitor.types import Event

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    with EventLog(tmp_path / "e.jsonl") as log:
        log.write(Event("face_found", 0.1, 3))
        log.write(Event("alert", 3.0, 90, {"level": "notice", "previous": "ok", "reason": "r"}))
        log.write(Event("microsleep", 4.0, 120, {"start_t": 3.0, "duration_s": 1.0}))
        log.write(Event("sleep", 6.1, 183, {"start_t": 3.0, "duration_s": 3.1}))
        log.write(Event("unresponsive", 9.0, 270, {"start_t": 3.0, "duration_s": 6.0, "cause": "c"}))
    assert len(synced) == 3  # the alert, sleep and unresponsive; not the microsleep
