"""Fault injection, processes: signals, a killed run and the installer's prefixes (tests/faults.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edge_monitor.outputs.events import read_events
from tests.conftest import REPO
from tests.faults import CLIP_FRAMES, Case, Run, catches, run_args, run_case, run_process, signalled, write


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
    # 11: signals
    "11 Ctrl-C during imports": Case(interrupted_during_imports, 130, "interrupted", "none"),
    "11 SIGTERM during start-up": Case(sigterm_during_startup, 0, None, "run"),
    "11 SIGHUP stops cleanly": signalled(signal.SIGHUP, check=stopped_by_signal),
    "11 SIGUSR1 is ignored": signalled(
        signal.SIGUSR1, "--max-frames", "45", check=log_untouched_by_ignored_signal
    ),
    # 13: the installer checks normalised prefixes
    "13 install --prefix //": Case(install_prefix("//"), 1, "--prefix / is not allowed", "none"),
    "13 install --prefix /opt/../home/pi": Case(install_prefix("/opt/../home/pi"), 1, "ProtectHome", "none"),
    # already held before issue 17
    "held: SIGKILL leaves a log the next run appends to": Case(
        killed_mid_run_then_appended,
        0,
        None,
        "none",
        setup=lambda d: (d / "e.jsonl").unlink(),
        check=killed_log_kept,
    ),
}


# Known issues under qemu user-mode emulation (make test-arm64 sets EDGE_MONITOR_EMULATED=1): qemu
# installs its own handler for every signal, so /proc shows the signal caught before main() has
# its handlers and the test signals too early; and a replay runs about 20 times slower.
UNDER_EMULATION = {
    "11 SIGTERM during start-up": "the signal is sent before main() installs its handlers",
    "11 SIGHUP stops cleanly": "the signal is sent before main() installs its handlers",
    "11 SIGUSR1 is ignored": "the signal is sent before main() installs its handlers",
    "held: SIGKILL leaves a log the next run appends to": "the second replay outlasts the 60 s limit",
}


def _cases():
    emulated = os.environ.get("EDGE_MONITOR_EMULATED") == "1"
    for name in CASES:
        why = UNDER_EMULATION.get(name)
        marks = [pytest.mark.xfail(emulated, reason=f"under qemu: {why}", strict=False)] if why else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_cases()))
def test_fault(name, tmp_path, capsys):
    run_case(CASES[name], tmp_path, capsys)
