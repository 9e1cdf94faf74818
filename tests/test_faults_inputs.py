"""Fault injection, inputs: options, config files, cascades, model metadata and videos (tests/faults.py)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from tests.faults import Case, config, hostile_yaml, run_args, run_case, write

NOT_A_CASCADE = '<?xml version="1.0"?><opencv_storage><a>1</a></opencv_storage>\n'


def model_with(d: Path, **changes) -> Path:
    """The shipped emotion model with its metadata changed; returns the .tflite path."""
    from edge_monitor.paths import shipped_models_dir

    src = shipped_models_dir()
    shutil.copy(src / "emotion.tflite", d / "m.tflite")
    meta = json.loads((src / "emotion.json").read_text())
    meta.update(changes)
    (d / "m.json").write_text(json.dumps(meta))  # NaN is written as the JSON extension Python reads
    return d / "m.tflite"


def emotion_model(model, code: int, needle: str) -> Case:
    """``--validate-config`` with ``model(d)`` as the emotion model: refused, nothing written."""
    return Case(
        lambda d: ["--config", config(d, f"models:\n  emotion: {model(d)}\n"), "--validate-config"],
        code,
        needle,
        "none",
    )


def metadata(needle: str, **changes) -> Case:
    """The shipped model with ``changes`` in its metadata: a model error (32)."""
    return emotion_model(lambda d: model_with(d, **changes), 32, needle)


def cascade(key: str, cascade_file, *extra) -> Case:
    """The Haar detector with ``key`` set to ``cascade_file(d)`` (the default BlazeFace loads none)."""
    return Case(
        lambda d: run_args(
            d, "--config", config(d, f"detector:\n  kind: haar\n  {key}: {cascade_file(d)}\n"), *extra
        ),
        32,
        "not a Haar cascade",
    )


def alias_bomb() -> str:
    levels = ", ".join(f"&a{i} [" + ",".join([f"*a{i - 1}" if i else "x"] * 10) + "]" for i in range(10))
    return f"source: {{fps: [{levels}]}}\n"


def deep_nesting() -> str:
    return "source: " + "[" * 600 + "]" * 600 + "\n"


def video(path, code: int, needle: str, **kw) -> Case:
    """``--video path(d)``: refused with ``code`` before anything is written."""
    return Case(lambda d: ["--video", path(d), "--events", d / "e.jsonl"], code, needle, **kw)


CASES: dict[str, Case] = {
    # 4: options validated like their config keys
    "4 --camera -1": Case(lambda d: ["--camera", "-1"], 2, "between 0 and 63", "none"),
    "4 --camera 99999999999999999999": Case(lambda d: ["--camera", "9" * 20], 2, "between 0 and 63", "none"),
    "4 --camera x": Case(lambda d: ["--camera", "x"], 2, "not an integer", "none"),
    # 5: a cascade that is not one fails --validate-config, and the run, with a model error
    "5 cascade /etc/hostname, validate": Case(
        lambda d: [
            "--config",
            config(d, "detector:\n  kind: haar\n  cascade: /etc/hostname\n"),
            "--validate-config",
        ],
        32,
        "not a Haar cascade",
        "none",
    ),
    "5 cascade of random bytes, run": cascade(
        "cascade", lambda d: write(d, "r.xml", np.random.default_rng(0).bytes(5000))
    ),
    "5 XML that is not a cascade, turned_cascade": cascade(
        "turned_cascade", lambda d: write(d, "x.xml", NOT_A_CASCADE)
    ),
    # 6: hostile YAML is refused fast and small (own process: time and memory bounds)
    "6 YAML nested 600 deep": hostile_yaml(
        lambda d: run_args(d, "--config", config(d, deep_nesting())),
        15,
        "nested more than 32",
    ),
    "6 YAML alias bomb in source.fps": hostile_yaml(
        lambda d: run_args(d, "--config", config(d, alias_bomb())),
        15,
        "aliases",
    ),
    "6 --config /dev/zero": hostile_yaml(
        lambda d: run_args(d, "--config", "/dev/zero"),
        10,
        "character device",
    ),
    "6 --config is a FIFO": hostile_yaml(
        lambda d: run_args(d, "--config", d / "fifo"),
        10,
        "a FIFO",
        setup=lambda d: os.mkfifo(d / "fifo"),
        timeout=10,
    ),
    "6 --config of 2 MB": hostile_yaml(
        lambda d: run_args(d, "--config", config(d, "#" + "x" * 2_000_000 + "\n")),
        15,
        "larger than",
    ),
    # 7: duplicate keys name both lines
    "7 duplicate key in a section": Case(
        lambda d: run_args(d, "--config", config(d, "emotion:\n  window_s: 99\n  window_s: 3\n")),
        12,
        "lines 2 and 3",
    ),
    "7 a second emotion: section": Case(
        lambda d: run_args(
            d, "--config", config(d, "emotion: {window_s: 9}\nface: {}\nemotion:\n  min_hold_s: 2\n")
        ),
        12,
        "emotion: duplicate key (lines 1 and 3)",
    ),
    # 10: metadata values are checked
    "10 metadata scale NaN": metadata("not a finite number", scale=float("nan")),
    "10 metadata scale inf": metadata("not a finite number", scale=float("inf")),
    "10 the eye model as the emotion model": emotion_model(
        lambda d: REPO / "models" / "eye_state.tflite", 33, "'eye_state' model"
    ),
    "10 labels a string": metadata("not a list", labels="angry"),
    "10 labels duplicated": metadata("duplicates", labels=["a"] * 7),
    "10 input_width 48.9": metadata("whole number", input_width=48.9),
    # 12: errors say what they are
    "12 --video is a folder": video(lambda d: d, 22, "not a regular file"),
    "12 --video /dev/zero": video(lambda d: "/dev/zero", 22, "not a regular file"),
    "12 --video is a FIFO": video(
        lambda d: d / "fifo",
        22,
        "not a regular file",
        setup=lambda d: os.mkfifo(d / "fifo"),
        process=True,
        kw={"timeout": 20},
    ),
    "12 --max-frames 0": Case(lambda d: run_args(d, "--max-frames", "0"), 2, "at least 1"),
    # already held before issue 17
    "held: missing video": video(lambda d: d / "absent.mp4", 21, "not found"),
    "held: random bytes as video": video(
        lambda d: write(d, "r.mp4", np.random.default_rng(1).bytes(50_000)), 22, "not a video"
    ),
    "held: unknown key": Case(
        lambda d: run_args(d, "--config", config(d, "emotion:\n  windw_s: 2\n")), 12, "windw_s"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fault(name, tmp_path, capsys):
    run_case(CASES[name], tmp_path, capsys)
