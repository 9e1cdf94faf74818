"""How a fault case runs (tests/test_faults_*.py): the case, the process around it, and the checks.

One table per theme, one case per row of issue 17 (and the cases that already held). Every case
asserts the exit code, exactly one stderr line (or none), no traceback, and that the event log is
intact: a log that existed before is byte-identical after a refused start, and only appended to
after a run. Cases run in-process (``cli.main`` with captured output) unless they need a process of
their own: a broken stdout, signals, resource limits, a FIFO. The hostile-YAML cases also bound
time and memory (``RLIMIT_AS``, a timeout, the child's peak RSS from ``wait4``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge_monitor.cli import main
from edge_monitor.outputs.events import read_events
from tests.conftest import require_shared

CLIP = "clips/pyfeat/single_face.mp4"  # 72 frames, one face
CLIP_FRAMES = 72
EARLIER = b'{"t":0.0,"frame":0,"kind":"start","note":"an earlier run"}\n'
YAML_LIMIT_S = 15.0  # refused within this even on a loaded machine (the alias bomb took 72 s before)
YAML_LIMIT_RSS_MB = 150  # ... and within this peak RSS (it took 3.4 GB before)
YAML_LIMIT_AS = 1 << 30  # the child cannot map more than 1 GiB at all


@dataclass
class Run:
    code: int
    stderr: str
    stdout: str = ""
    wall_s: float = 0.0
    maxrss_mb: float = 0.0


@dataclass
class Case:
    """One row: ``args(d)`` builds the command line in the case folder ``d``."""

    args: object
    code: int
    needle: str | None  # in the one stderr line; None: stderr must be empty
    log: str = "untouched"  # untouched | run (appended: the earlier bytes, then a whole run) | none
    process: bool = False  # needs its own process
    setup: object = None  # setup(d) before the run
    check: object = None  # check(d, run) after it
    kw: dict = field(default_factory=dict)  # extra options of run_process


def hostile_yaml(args, code: int, needle: str, setup=None, **kw) -> Case:
    """A hostile-YAML row: its own process, under the memory cap, checked against the time and RSS bounds."""
    return Case(args, code, needle, process=True, setup=setup, kw={"limit_as": YAML_LIMIT_AS, **kw})


def in_process(args: list[str], capsys) -> Run:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    return Run(code, out.err, out.out)


# Runs a command under RLIMIT_AS and reports its peak RSS. A child's ru_maxrss includes the memory
# of the process it was forked from (the pytest process, with TensorFlow: ~765 MB), so the child
# is forked from this small launcher and the launcher reports what wait4 says of it.
MEASURE = """
import os, resource, subprocess, sys
limit, report, *cmd = sys.argv[1:]
def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
proc = subprocess.Popen(cmd, preexec_fn=limit_memory)
_, status, usage = os.wait4(proc.pid, 0)
with open(report, "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def run_process(args, stdout=None, limit_as=None, timeout=60, signal_at=None, env=None) -> Run:
    """Run ``python -m edge_monitor``; ``signal_at=(sig, when)`` sends ``sig`` once ``when(pid)``.

    Output goes to temporary files (never a full pipe). With ``limit_as`` the command runs under
    that address-space limit and ``maxrss_mb`` is its own peak RSS.
    """
    cmd = [sys.executable, "-m", "edge_monitor", *map(str, args)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as out,
    ):
        report = Path(tmp) / "maxrss"
        if limit_as:
            cmd = [sys.executable, "-c", MEASURE, str(limit_as), str(report), *cmd]
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdout=out if stdout is None else stdout,
            stderr=err,
            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
        )
        try:
            if signal_at is not None:
                sig, when = signal_at
                while not when(proc.pid) and time.monotonic() - t0 < timeout:
                    time.sleep(0.002)
                proc.send_signal(sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"{args} did not finish within {timeout} s")
        wall = time.monotonic() - t0
        maxrss_mb = int(report.read_text()) / 1024 if limit_as else 0.0
        err.seek(0)
        out.seek(0)
        return Run(proc.returncode, err.read().decode(), out.read().decode(), wall, maxrss_mb)


def catches(sig: int):
    """True once ``pid`` has its own handler for ``sig`` (``SigCgt`` in /proc): the CLI's main started."""

    def when(pid: int) -> bool:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt")), 16)
        return bool(mask >> (sig - 1) & 1)

    return when


# --- building blocks of the cases ---------------------------------------------------------------


def write(d: Path, name: str, text: str | bytes) -> Path:
    p = d / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def config(d: Path, text: str) -> Path:
    return write(d, "c.yaml", text)


def run_args(d: Path, *extra) -> list:
    return ["--video", d / "clip.mp4", "--events", d / "e.jsonl", "--gpio", "off", *extra]


def signalled(sig: int, *extra, check=None) -> Case:
    """A run (own process) sent ``sig`` once the CLI's main has its handlers; it exits 0 quietly."""
    return Case(
        lambda d: run_args(d, "--quiet", *extra),
        0,
        None,
        "run",
        process=True,
        kw={"signal_at": (sig, catches(sig))},
        check=check,
    )


def run_case(case: Case, d: Path, capsys) -> None:
    """Run ``case`` in the folder ``d`` (the clip and an earlier log in it) and check the outcome."""
    shutil.copy(require_shared(CLIP), d / "clip.mp4")
    (d / "e.jsonl").write_bytes(EARLIER)
    if case.setup is not None:
        case.setup(d)
    before = (d / "e.jsonl").read_bytes() if (d / "e.jsonl").exists() else None
    made = case.args(d)  # a command line, or the Run of a case that runs itself
    if isinstance(made, Run):
        run = made
    elif case.process:
        run = run_process(made, **case.kw)
    else:
        run = in_process(made, capsys)

    assert run.code == case.code, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    if case.needle is None:
        assert lines == [], run.stderr
    else:
        assert len(lines) == 1 and case.needle in lines[0], run.stderr
    if case.log == "untouched" and before is not None:
        assert (d / "e.jsonl").read_bytes() == before
    elif case.log == "run":
        after = (d / "e.jsonl").read_bytes()
        assert before is None or after.startswith(before)  # only appended to
        records = read_events(d / "e.jsonl")
        run_records = records[[r["kind"] for r in records].index("start", 1 if before else 0) :]
        assert run_records[0]["kind"] == "start" and run_records[-1]["kind"] == "summary"
    if case.kw.get("limit_as"):  # hostile YAML: bounded
        assert run.wall_s < YAML_LIMIT_S and run.maxrss_mb < YAML_LIMIT_RSS_MB, (run.wall_s, run.maxrss_mb)
    if case.check is not None:
        case.check(d, run)
