"""systemd notify over a real AF_UNIX datagram socket, SIGTERM handling, journald logging."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from edge_monitor.outputs.events import read_events
from edge_monitor.outputs.sinks import LogSink
from edge_monitor.systemd import Notifier, setup_logging, under_systemd
from edge_monitor.types import Event
from tests.conftest import replay


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    yield sock, str(path)
    sock.close()


def receive_all(sock) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except (TimeoutError, BlockingIOError):
            return out


def test_notifier_is_a_no_op_outside_systemd():
    n = Notifier(env={})
    assert not n.enabled and n.watchdog_interval_s is None
    assert n.ready() is False and n.status("x") is False
    n.close()
    n.close()


def test_notifier_sends_datagrams_and_paces_the_watchdog(notify_socket):
    sock, path = notify_socket
    n = Notifier(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())})
    assert n.enabled and n.watchdog_interval_s == pytest.approx(1.0)
    assert n.ready() and n.watchdog() and n.status("12.0 fps,\nlevel ok") and n.stopping()
    assert receive_all(sock) == ["READY=1", "WATCHDOG=1", "STATUS=12.0 fps, level ok", "STOPPING=1"]
    n.close()


def test_watchdog_for_another_pid_is_ignored():
    n = Notifier(env={"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"})
    assert n.watchdog_interval_s is None


def test_a_vanished_socket_is_reported_once_and_never_raises(tmp_path, caplog):
    n = Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING):
        assert n.ready() is False and n.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify" in r.message]) == 1


def test_journal_fields_ride_on_the_log_records(caplog):
    with caplog.at_level(logging.INFO, logger="edge_monitor.events"):
        LogSink().on_event(Event("alert", 3.0, 90, {"level": "warning", "previous": "notice", "reason": "x"}))
        LogSink().on_event(Event("face_found", 0.1, 3))
    alert, found = caplog.records
    assert alert.levelno == logging.WARNING and alert.EDGE_MONITOR_KIND == "alert"
    assert alert.EDGE_MONITOR_LEVEL == "warning"
    assert found.levelno == logging.INFO and not hasattr(found, "EDGE_MONITOR_LEVEL")


def test_stderr_logging_outside_systemd():
    assert under_systemd({}) is False and under_systemd({"JOURNAL_STREAM": "8:123"}) is True
    assert setup_logging("WARNING", env={}) == "stderr"


@pytest.mark.slow
@pytest.mark.xfail(
    os.environ.get("EDGE_MONITOR_EMULATED") == "1",
    reason="speed: under emulation (make test-arm64) a real-time replay gets fewer than 30 frames"
    " through in 2.5 s; the protocol itself works (docs/arm64.md)",
    strict=False,
)
def test_daemon_protocol_end_to_end(notify_socket, tmp_path, clip):
    """READY, periodic WATCHDOG and STATUS, then SIGTERM → STOPPING, exit 0 within 2 s, log complete."""
    sock, path = notify_socket
    events = tmp_path / "e.jsonl"
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "600000"}  # ping every 0.2 s
    env.pop("JOURNAL_STREAM", None)
    env.pop("INVOCATION_ID", None)
    cmd = [sys.executable, "-m", "edge_monitor", "--video", str(clip("fer/woman2.mp4")), "--realtime"]
    proc = subprocess.Popen(
        [*cmd, "--events", str(events), "--quiet", "--gpio", "off"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        messages: list[str] = []
        deadline = time.monotonic() + 60
        while "READY=1" not in messages and time.monotonic() < deadline:
            messages += receive_all(sock)
        assert "READY=1" in messages, proc.stderr.read() if proc.poll() is not None else messages
        time.sleep(2.5)  # let it run: watchdog pings and a status line
        messages += receive_all(sock)
        t_term = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        stopped_in = time.monotonic() - t_term
        messages += receive_all(sock)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()
    assert stopped_in < 2.0
    assert messages.index("READY=1") < messages.index("WATCHDOG=1")
    assert messages.count("WATCHDOG=1") >= 5
    status = [m for m in messages if m.startswith("STATUS=")]
    assert status and "fps" in status[-1] and "level" in status[-1] and "emotion" in status[-1]
    assert "calibrating" in status[0]  # the driver's own levels take 5 s of attentive frames
    assert messages[-1] == "STOPPING=1"
    ev = read_events(events)
    assert ev[0]["kind"] == "start" and ev[-1]["kind"] == "summary"
    assert ev[-1]["stopped_by"] == "signal" and ev[-1]["frames"] > 30
    assert len(events.read_text().splitlines()) == len(ev)  # every line complete


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_parseable_event_log(tmp_path, clip):
    events = tmp_path / "e.jsonl"
    cmd = [sys.executable, "-m", "edge_monitor", "--video", str(clip("fer/woman2.mp4")), "--realtime"]
    proc = subprocess.Popen(
        [*cmd, "--events", str(events), "--quiet", "--gpio", "off"], stderr=subprocess.DEVNULL
    )
    # Generous: under emulation (make test-arm64) start-up alone takes about a minute.
    deadline = time.monotonic() + 300
    while not events.exists() or events.read_text().count("\n") < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "no 3 events to kill after"
        time.sleep(0.1)
    time.sleep(0.5)
    proc.kill()
    proc.wait(timeout=10)
    ev = read_events(events)  # a partial last line, if any, is skipped
    assert ev[0]["kind"] == "start" and len(ev) >= 3
    assert "summary" not in [e["kind"] for e in ev]  # killed: no clean end
    # The next run appends cleanly after whatever the kill left.
    assert replay(clip("pyfeat/single_face.mp4"), events) == 0
    again = read_events(events)
    assert again[: len(ev)] == ev and again[-1]["kind"] == "summary"
