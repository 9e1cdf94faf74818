"""Fault injection: hostile but fair inputs and failing outputs, each through the real CLI.

One table, one case per row of issue 17 (and the cases that already held). Every case asserts the
exit code, exactly one stderr line (or none), no traceback, and that the event log is intact: a
log that existed before is byte-identical after a refused start, and only appended to after a run.
Cases run in-process (``cli.main`` with captured output) unless they need a process of their own:
a broken stdout, signals, resource limits, a FIFO. The hostile-YAML cases also bound time and
memory (``RLIMIT_AS``, a timeout, the child's peak RSS from ``wait4``).

Row 14 (``policy.cooldown_s``) is a policy property, tested in ``tests/test_policy.py``
(``test_cooldown_never_suppresses_an_alarm_while_its_cause_lasts``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from edge_monitor import errors
from edge_monitor.cli import main
from edge_monitor.outputs.events import read_events
from tests.conftest import REPO, require_shared

CLIP = "clips/pyfeat/single_face.mp4"  # 72 frames, one face
CLIP_FRAMES = 72
EARLIER = b'{"t":0.0,"frame":0,"kind":"start","note":"an earlier run"}\n'
NOT_A_CASCADE = '<?xml version="1.0"?><opencv_storage><a>1</a></opencv_storage>\n'
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


def model_with(d: Path, **changes) -> Path:
    """The shipped emotion model with its metadata changed; returns the .tflite path."""
    from edge_monitor.paths import shipped_models_dir

    src = shipped_models_dir()
    shutil.copy(src / "emotion.tflite", d / "m.tflite")
    meta = json.loads((src / "emotion.json").read_text())
    meta.update(changes)
    (d / "m.json").write_text(json.dumps(meta))  # NaN is written as the JSON extension Python reads
    return d / "m.tflite"


def run_args(d: Path, *extra) -> list:
    return ["--video", d / "clip.mp4", "--events", d / "e.jsonl", "--gpio", "off", *extra]


def alias_bomb() -> str:
    levels = ", ".join(f"&a{i} [" + ",".join([f"*a{i - 1}" if i else "x"] * 10) + "]" for i in range(10))
    return f"source: {{fps: [{levels}]}}\n"


def deep_nesting() -> str:
    return "source: " + "[" * 600 + "]" * 600 + "\n"


def no_frames_stored(d: Path, run: Run) -> None:
    assert sorted(p.name for p in d.iterdir()) == ["clip.mp4", "e.jsonl"]


def only_snapshots_missing(d: Path, run: Run) -> None:
    assert not (d / "blocker" / "snaps").exists()


def log_untouched_by_ignored_signal(d: Path, run: Run) -> None:
    assert read_events(d / "e.jsonl")[-1]["stopped_by"] == "max_frames"


def stopped_by_signal(d: Path, run: Run) -> None:
    assert read_events(d / "e.jsonl")[-1]["stopped_by"] == "signal"


def interrupted_during_imports(d: Path) -> Run:
    # Ctrl-C while `python -m edge_monitor` imports the CLI, before its handlers exist.
    code = (
        "import os, signal, sys, runpy\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # as on a terminal (not under nohup)
        "class Hook:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'edge_monitor.cli':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hook())\n"
        "runpy.run_module('edge_monitor', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return Run(proc.returncode, proc.stderr, proc.stdout)


def install_prefix(prefix: str):
    def go(d: Path) -> Run:
        proc = subprocess.run(
            ["bash", str(REPO / "deploy" / "install.sh"), "--dry-run", "--prefix", prefix],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Run(proc.returncode, proc.stderr, proc.stdout)

    return go


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


def sigterm_during_startup(d: Path) -> Run:
    """SIGTERM as soon as main() has its handlers (models not loaded yet): summary and STOPPING=1."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(d / "notify"))
        sock.settimeout(5)
        run = run_process(
            run_args(d, "--quiet"),
            signal_at=(signal.SIGTERM, catches(signal.SIGTERM)),
            env={"NOTIFY_SOCKET": str(d / "notify")},
        )
        messages = []
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                messages.append(sock.recv(4096).decode())
    assert "STOPPING=1" in messages, messages
    assert read_events(d / "e.jsonl")[-1]["stopped_by"] == "signal"
    return run


def killed_mid_run_then_appended(d: Path) -> Run:
    """SIGKILL during a paced replay leaves a parseable log; the next run appends to it."""

    def mid_run(pid: int) -> bool:
        log = d / "e.jsonl"
        return log.exists() and log.read_bytes().count(b"\n") >= 2

    run_process(run_args(d, "--realtime", "--quiet"), signal_at=(signal.SIGKILL, mid_run), timeout=60)
    before = (d / "e.jsonl").read_bytes()
    assert read_events(d / "e.jsonl")[0]["kind"] == "start"
    write(d, "killed.bin", before)
    return run_process(run_args(d, "--quiet"))


def killed_log_kept(d: Path, run: Run) -> None:
    before = (d / "killed.bin").read_bytes()
    after = (d / "e.jsonl").read_bytes()
    assert after.startswith(before)  # only appended to
    (d / "killed.bin").unlink()
    records = read_events(d / "e.jsonl")
    assert records[-1]["kind"] == "summary" and records[-1]["frames"] == CLIP_FRAMES


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
    # 4: options validated like their config keys
    "4 --camera -1": Case(lambda d: ["--camera", "-1"], 2, "between 0 and 63", "none"),
    "4 --camera 99999999999999999999": Case(lambda d: ["--camera", "9" * 20], 2, "between 0 and 63", "none"),
    "4 --camera x": Case(lambda d: ["--camera", "x"], 2, "not an integer", "none"),
    # 5: a cascade that is not one fails --validate-config, and the run, with a model error (the
    # Haar detector; the default BlazeFace does not load cascades)
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
    "5 cascade of random bytes, run": Case(
        lambda d: run_args(
            d,
            "--config",
            config(
                d,
                f"detector:\n  kind: haar\n  cascade: {write(d, 'r.xml', np.random.default_rng(0).bytes(5000))}\n",
            ),
        ),
        32,
        "not a Haar cascade",
    ),
    "5 XML that is not a cascade, turned_cascade": Case(
        lambda d: run_args(
            d,
            "--config",
            config(
                d,
                f"detector:\n  kind: haar\n  turned_cascade: {write(d, 'x.xml', NOT_A_CASCADE)}\n",
            ),
        ),
        32,
        "not a Haar cascade",
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
    # 10: metadata values are checked
    "10 metadata scale NaN": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {model_with(d, scale=float('nan'))}\n"),
            "--validate-config",
        ],
        32,
        "not a finite number",
        "none",
    ),
    "10 metadata scale inf": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {model_with(d, scale=float('inf'))}\n"),
            "--validate-config",
        ],
        32,
        "not a finite number",
        "none",
    ),
    "10 the eye model as the emotion model": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {REPO / 'models' / 'eye_state.tflite'}\n"),
            "--validate-config",
        ],
        33,
        "'eye_state' model",
        "none",
    ),
    "10 labels a string": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {model_with(d, labels='angry')}\n"),
            "--validate-config",
        ],
        32,
        "not a list",
        "none",
    ),
    "10 labels duplicated": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {model_with(d, labels=['a'] * 7)}\n"),
            "--validate-config",
        ],
        32,
        "duplicates",
        "none",
    ),
    "10 input_width 48.9": Case(
        lambda d: [
            "--config",
            config(d, f"models:\n  emotion: {model_with(d, input_width=48.9)}\n"),
            "--validate-config",
        ],
        32,
        "whole number",
        "none",
    ),
    # 11: signals
    "11 Ctrl-C during imports": Case(interrupted_during_imports, 130, "interrupted", "none"),
    "11 SIGTERM during start-up": Case(sigterm_during_startup, 0, None, "run"),
    "11 SIGHUP stops cleanly": Case(
        lambda d: run_args(d, "--quiet"),
        0,
        None,
        "run",
        process=True,
        kw={"signal_at": (signal.SIGHUP, catches(signal.SIGHUP))},
        check=stopped_by_signal,
    ),
    "11 SIGUSR1 is ignored": Case(
        lambda d: run_args(d, "--quiet", "--max-frames", "45"),
        0,
        None,
        "run",
        process=True,
        kw={"signal_at": (signal.SIGUSR1, catches(signal.SIGUSR1))},
        check=log_untouched_by_ignored_signal,
    ),
    # 12: errors say what they are
    "12 --video is a folder": Case(
        lambda d: ["--video", d, "--events", d / "e.jsonl"], 22, "not a regular file"
    ),
    "12 --video /dev/zero": Case(
        lambda d: ["--video", "/dev/zero", "--events", d / "e.jsonl"], 22, "not a regular file"
    ),
    "12 --video is a FIFO": Case(
        lambda d: ["--video", d / "fifo", "--events", d / "e.jsonl"],
        22,
        "not a regular file",
        setup=lambda d: os.mkfifo(d / "fifo"),
        process=True,
        kw={"timeout": 20},
    ),
    "12 --max-frames 0": Case(lambda d: run_args(d, "--max-frames", "0"), 2, "at least 1"),
    "12 annotating onto a full disk": Case(full_disk_video, 40, "annotated video", "run"),
    # 13: the installer checks normalised prefixes
    "13 install --prefix //": Case(install_prefix("//"), 1, "--prefix / is not allowed", "none"),
    "13 install --prefix /opt/../home/pi": Case(install_prefix("/opt/../home/pi"), 1, "ProtectHome", "none"),
    # already held before issue 17 (monitoring went on; the exit code now says the log failed)
    "held: the event log on a full disk": Case(
        lambda d: run_args(d, "--quiet", "--events", "/dev/full"), 40, "cannot write event log", "none"
    ),
    "held: missing video": Case(
        lambda d: ["--video", d / "absent.mp4", "--events", d / "e.jsonl"], 21, "not found"
    ),
    "held: random bytes as video": Case(
        lambda d: [
            "--video",
            write(d, "r.mp4", np.random.default_rng(1).bytes(50_000)),
            "--events",
            d / "e.jsonl",
        ],
        22,
        "not a video",
    ),
    "held: unknown key": Case(
        lambda d: run_args(d, "--config", config(d, "emotion:\n  windw_s: 2\n")), 12, "windw_s"
    ),
    "held: no frame stored by default": Case(
        lambda d: run_args(d, "--quiet"),
        0,
        None,
        "run",
        check=no_frames_stored,
        setup=lambda d: (d / "e.jsonl").unlink(),
    ),
    "held: SIGKILL leaves a log the next run appends to": Case(
        killed_mid_run_then_appended,
        0,
        None,
        "none",
        setup=lambda d: (d / "e.jsonl").unlink(),
        check=killed_log_kept,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fault(name, tmp_path, capsys):
    case = CASES[name]
    d = tmp_path
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


def test_every_row_of_the_issue_has_a_case():
    rows = {int(name.split()[0]) for name in CASES if name.split()[0].isdigit()}
    assert rows == set(range(1, 14))  # 14 is in tests/test_policy.py


def test_exit_codes_of_the_table_are_documented():
    table = (REPO / "README.md").read_text(encoding="utf-8").split("<!-- exit-codes:begin -->")[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert {c.code for c in CASES.values()} - {1} <= documented  # 1: the installer's own failure
    assert errors.ConfigLimitError.exit_code in documented
