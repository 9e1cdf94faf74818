"""Fault injection, outputs: the console, the event log, snapshots and videos failing (tests/faults.py)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import EARLIER, Case, Run, config, run_args, run_case, run_process, write


def no_frames_stored(d: Path, run: Run) -> None:
    assert sorted(p.name for p in d.iterdir()) == ["clip.mp4", "e.jsonl"]


def only_snapshots_missing(d: Path, run: Run) -> None:
    assert not (d / "blocker" / "snaps").exists()


def full_disk_video(d: Path) -> Run:
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    proc = subprocess.run(
        [sys.executable, "-m", "edge_monitor", *map(str, run_args(d, "--quiet", "--annotate", d / "a.avi"))],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec,
    )
    return Run(proc.returncode, proc.stderr, proc.stdout)


def closed_pipe_stdout(d: Path) -> Run:
    r, w = os.pipe()
    os.close(r)  # nobody reads: the first write is EPIPE (`| head -1` after its line)
    try:
        return run_process(run_args(d), stdout=w)
    finally:
        os.close(w)


def dev_full_stdout(d: Path) -> Run:
    with open("/dev/full", "wb") as full:
        return run_process(run_args(d), stdout=full)


CASES: dict[str, Case] = {
    # 1: the console fails; the log and the alerts do not stop
    "1 stdout is /dev/full": Case(dev_full_stdout, 40, "console (stdout) failed", "run"),
    "1 stdout reader gone (| head -1)": Case(closed_pipe_stdout, 40, "console (stdout) failed", "run"),
    # 2: the event log is only appended to; another file is refused, byte-identical
    "2 --events is a video": Case(
        lambda d: run_args(d),
        40,
        "not a JSON Lines event log",
        setup=lambda d: shutil.copy(d / "clip.mp4", d / "e.jsonl"),
    ),
    "2 --events is 100 kB without a newline": Case(
        lambda d: run_args(d), 40, "no line break", setup=lambda d: write(d, "e.jsonl", b"x" * 100_000)
    ),
    "2 a partial last line is kept (held)": Case(
        lambda d: run_args(d, "--quiet"),
        0,
        "partial line",
        "run",
        setup=lambda d: write(d, "e.jsonl", EARLIER + b'{"t":1.0,"fr'),
    ),
    # 3: an output may not be an input
    "3 --annotate is --video": Case(lambda d: run_args(d, "--annotate", d / "clip.mp4"), 2, "same file"),
    "3 --events is --video": Case(
        lambda d: ["--video", d / "clip.mp4", "--events", d / "clip.mp4"], 2, "same file", "none"
    ),
    "3 --plot is --config": Case(
        lambda d: run_args(d, "--config", config(d, "{}\n"), "--plot", d / "c.yaml"), 2, "same file"
    ),
    # 8: a snapshot folder that cannot be made is a warning; monitoring runs
    "8 snapshot folder cannot be created": Case(
        lambda d: run_args(
            d,
            "--quiet",
            "--config",
            config(d, f"snapshots:\n  enabled: true\n  dir: {d / 'blocker' / 'snaps'}\n"),
        ),
        0,
        "without snapshots",
        "run",
        setup=lambda d: write(d, "blocker", "a file, not a folder"),
        check=only_snapshots_missing,
    ),
    # 9: an event log on a FIFO without a reader is refused at once
    "9 --events is a FIFO": Case(
        lambda d: run_args(d, "--events", d / "fifo"),
        40,
        "not a regular file",
        process=True,
        setup=lambda d: os.mkfifo(d / "fifo"),
        kw={"timeout": 20},
    ),
    # 12: errors say what they are
    "12 annotating onto a full disk": Case(full_disk_video, 40, "annotated video", "run"),
    # already held before issue 17 (monitoring went on; the exit code now says the log failed)
    "held: the event log on a full disk": Case(
        lambda d: run_args(d, "--quiet", "--events", "/dev/full"), 40, "cannot write event log", "none"
    ),
    "held: no frame stored by default": Case(
        lambda d: run_args(d, "--quiet"),
        0,
        None,
        "run",
        check=no_frames_stored,
        setup=lambda d: (d / "e.jsonl").unlink(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fault(name, tmp_path, capsys):
    run_case(CASES[name], tmp_path, capsys)
