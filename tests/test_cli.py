"""End-to-end: the ``edge-monitor`` command on the real clips, and every bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edge_monitor import errors
from edge_monitor.cli import main
from edge_monitor.config import parse_config
from edge_monitor.outputs.events import read_events

pytestmark = pytest.mark.slow


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "edge_monitor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def replay(tmp_path: Path, video: Path, *extra: str, name: str = "e.jsonl") -> list[dict]:
    events = tmp_path / name
    assert main(["--video", str(video), "--events", str(events), "--quiet", *extra]) == 0
    return read_events(events)


@pytest.mark.parametrize("name", ["fer/woman2.mp4", "pyfeat/single_face.mp4"])
def test_face_is_found_in_95_percent_of_frames(tmp_path, clip, name):
    ev = replay(tmp_path, clip(name))
    assert ev[0]["kind"] == "start" and ev[-1]["kind"] == "summary"
    s = ev[-1]
    cap = cv2.VideoCapture(str(clip(name)))
    assert s["frames"] == int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    assert s["face_frames"] / s["frames"] >= 0.95
    assert s["duration_s"] > 0 and s["fps"] > 0
    for e in ev:
        assert {"t", "frame", "kind"} <= set(e)
    emotions = [e for e in ev if e["kind"] == "emotion"]
    assert emotions, "a stable emotion is reported for a clearly visible face"
    assert emotions[0]["emotion"] in emotions[0]["probs"]


def test_face_lost_soon_after_the_cut_and_no_flapping(tmp_path, clip):
    video = clip("pyfeat/face_noface.mov")
    cap = cv2.VideoCapture(str(video))
    for _ in range(76):  # the cut to the animation is at frame ~75 (a variable-rate clip)
        cap.read()
    t_cut = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
    ev = replay(tmp_path, video)
    presence = [e for e in ev if e["kind"] in ("face_found", "face_lost")]
    assert [e["kind"] for e in presence] == ["face_found", "face_lost"]
    assert presence[0]["t"] < 0.5
    assert 0.0 <= presence[1]["t"] - t_cut <= 0.5


def test_realtime_replay_gives_the_same_events(tmp_path, clip):
    video = clip("pyfeat/single_face.mp4")
    fast = replay(tmp_path, video, name="fast.jsonl")
    real = replay(tmp_path, video, "--realtime", name="real.jsonl")
    frame_s = 1 / cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS)
    assert [e["kind"] for e in fast] == [e["kind"] for e in real]
    for a, b in zip(fast, real, strict=True):
        assert abs(a["t"] - b["t"]) <= frame_s
    # Paced to the clip: the real-time run took at least the clip's duration.
    assert real[-1]["wall_s"] >= real[-1]["duration_s"] - 2 * frame_s
    assert fast[-1]["frames"] == real[-1]["frames"]


def test_max_frames_and_annotated_video(tmp_path, clip):
    out = tmp_path / "a.mp4"
    ev = replay(tmp_path, clip("fer/woman2.mp4"), "--max-frames", "40", "--annotate", str(out))
    assert ev[-1]["frames"] == 40 and ev[-1]["stopped_by"] == "max_frames"
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    ok, frame = cap.read()
    assert ok and frame.shape == (336, 596, 3)


def test_events_are_appended_not_overwritten(tmp_path, clip):
    video = clip("pyfeat/single_face.mp4")
    first = replay(tmp_path, video, "--max-frames", "5")
    both = replay(tmp_path, video, "--max-frames", "5")
    assert both[: len(first)] == first
    assert [e["kind"] for e in both].count("summary") == 2


def test_print_and_validate_config(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("emotion:\n  window_s: 4\n")
    assert main(["--config", str(cfg), "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert yaml.safe_load(printed)["emotion"]["window_s"] == 4.0
    assert parse_config(printed).emotion.window_s == 4.0
    assert main(["--config", str(cfg), "--validate-config"]) == 0
    assert "config OK" in capsys.readouterr().out


def test_console_prints_events_and_summary(tmp_path, clip, capsys):
    assert main(["--video", str(clip("pyfeat/single_face.mp4"))]) == 0
    out = capsys.readouterr().out
    assert "start" in out and "face_found" in out and "summary" in out
    assert "face found in" in out and "dominant emotion" in out


# --- bad input: one line on stderr, its own exit code, no traceback ------------------------------


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """Files for every bad-input case (generated here, never committed)."""
    from tests.conftest import require_shared

    d = tmp_path_factory.mktemp("bad")
    single = require_shared("clips/pyfeat/single_face.mp4")
    data = single.read_bytes()
    (d / "half.mp4").write_bytes(data[: len(data) // 2])
    (d / "random.mp4").write_bytes(np.random.default_rng(0).bytes(100_000))
    from edge_monitor.paths import shipped_models_dir

    models = shipped_models_dir()
    (d / "bogus.tflite").write_bytes(np.random.default_rng(1).bytes(50_000))
    shutil.copy(models / "emotion.json", d / "bogus.json")
    shutil.copy(models / "emotion.tflite", d / "wrong.tflite")
    meta = json.loads((models / "emotion.json").read_text())
    meta["input_width"] = meta["input_height"] = 64
    (d / "wrong.json").write_text(json.dumps(meta))
    configs = {
        "missing_model": f"models:\n  emotion: {d / 'absent.tflite'}\n",
        "bogus_model": f"models:\n  emotion: {d / 'bogus.tflite'}\n",
        "wrong_model": f"models:\n  emotion: {d / 'wrong.tflite'}\n",
        "syntax": "emotion:\n  window_s: [2\n",
        "unknown": "emotion:\n  windw_s: 2\n",
        "type": "emotion:\n  window_s: two\n",
        "range": "emotion:\n  window_s: 0\n",
    }
    for name, text in configs.items():
        (d / f"{name}.yaml").write_text(text)
    return d, single


def with_config(name: str, error: type, needle: str) -> tuple:
    """A bad-input case: the good clip with the config ``<name>.yaml`` made by ``bad_inputs``."""
    return (lambda d, s: ["--video", s, "--config", d / f"{name}.yaml"], error, needle)


BAD_CASES = {
    "missing video": (lambda d, s: ["--video", d / "absent.mp4"], errors.VideoNotFoundError, "not found"),
    "not a video": (lambda d, s: ["--video", d / "random.mp4"], errors.VideoFormatError, "not a video"),
    "truncated mp4": (lambda d, s: ["--video", d / "half.mp4"], errors.VideoTruncatedError, "truncated"),
    "camera does not open": (lambda d, s: ["--camera", "63"], errors.CameraError, "camera 63"),
    "picamera off the Pi": (
        lambda d, s: ["--picamera"],
        errors.PicameraUnavailableError,
        "python3-picamera2",
    ),
    "missing model": with_config("missing_model", errors.ModelNotFoundError, "not found"),
    "not a tflite": with_config("bogus_model", errors.ModelFormatError, "not a valid TFLite model"),
    "shape mismatch": with_config("wrong_model", errors.ModelMismatchError, "metadata says"),
    "yaml syntax": with_config("syntax", errors.ConfigSyntaxError, "line"),
    "unknown key": with_config("unknown", errors.ConfigKeyError, "emotion.windw_s"),
    "wrong type": with_config("type", errors.ConfigTypeError, "'two'"),
    "out of range": with_config("range", errors.ConfigRangeError, "range"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gives_one_line_and_its_exit_code(bad_inputs, tmp_path, case):
    d, single = bad_inputs
    make_args, error, needle = BAD_CASES[case]
    events = tmp_path / "e.jsonl"
    before = '{"t":0.0,"frame":0,"kind":"start","note":"earlier run"}\n'
    events.write_text(before)
    proc = run_cli(*make_args(d, single), "--events", events)
    assert proc.returncode == error.exit_code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("edge-monitor: error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert events.read_text() == before  # nothing already written is touched


def test_bad_input_exit_codes_are_distinct():
    codes = [err.exit_code for _, err, _ in BAD_CASES.values()]
    assert len(set(codes)) == len(codes)
    assert all(c not in (0, 1, 2) for c in codes)


def test_truncated_clip_keeps_the_events_written_before_the_error(tmp_path):
    from tests.conftest import require_shared

    data = require_shared("clips/pyfeat/WolfgangLanger_Pexels.mp4").read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])  # moov first: decodes until the cut
    events = tmp_path / "e.jsonl"
    proc = run_cli("--video", half, "--events", events, "--quiet", "--gpio", "off")
    assert proc.returncode == errors.VideoTruncatedError.exit_code
    assert len(proc.stderr.strip().splitlines()) == 1 and "truncated" in proc.stderr
    ev = read_events(events)
    assert ev[0]["kind"] == "start" and ev[-1]["kind"] == "summary"
    assert 0 < ev[-1]["frames"] < 472
    # Every line is complete JSON.
    assert all(json.loads(line) for line in events.read_text().splitlines())
