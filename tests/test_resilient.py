"""Camera fault injection: a source that hangs, raises, or returns nothing."""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge_monitor.config import GpioConfig
from edge_monitor.errors import CameraError
from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector
from edge_monitor.outputs.events import EventLog, read_events
from edge_monitor.outputs.gpio import AlertOutput
from edge_monitor.outputs.sinks import AlertOutputSink, EventLogSink
from edge_monitor.pipeline import Pipeline
from edge_monitor.service import Runner
from edge_monitor.sources.base import make_frame
from edge_monitor.sources.resilient import CameraFault, ResilientSource
from tests.fakes import FixedClassifier


class FlakyCamera:
    """A live source whose reads follow a script: 'ok', 'hang', 'raise', 'none'."""

    live = True
    frame_count = None
    fps = 30.0
    size = (64, 48)

    def __init__(self, script: list[str], log: list[str]) -> None:
        self.name = "flaky"
        self._script, self._log = script, log
        self._release = threading.Event()
        self.readers: set[threading.Thread] = set()

    def read(self):
        step = self._script.pop(0) if self._script else "ok"
        self._log.append(step)
        self.readers.add(threading.current_thread())
        if step == "hang":
            self._release.wait(5)
            return None
        if step == "raise":
            raise RuntimeError("USB device disconnected")
        if step == "none":
            return None
        return make_frame(np.full((48, 64, 3), 128, np.uint8), 0.0, 0)

    def close(self):
        self._release.set()
        self._log.append("close")


def resilient(script, log, cameras: list[FlakyCamera] | None = None, **kw):
    """A ResilientSource over FlakyCameras sharing ``script``; each one opened is added to ``cameras``."""
    shared = list(script)
    opened = cameras if cameras is not None else []
    args = {"read_timeout_s": 0.2, "retry_initial_s": 0.05, "retry_max_s": 0.2, "give_up_s": 5.0, **kw}

    def opener() -> FlakyCamera:
        log.append("open")
        opened.append(FlakyCamera(shared, log))
        return opened[-1]

    return ResilientSource(opener, **args)


def test_one_long_lived_thread_serves_every_read_of_a_camera():
    log: list[str] = []
    cameras: list[FlakyCamera] = []
    src = resilient(["ok"] * 100, log, cameras)
    before = threading.active_count()
    counts = set()
    for _ in range(100):
        assert src.read() is not None
        counts.add(threading.active_count())
    assert counts == {before}  # no thread started per read
    (reader,) = cameras[0].readers
    assert reader is not threading.current_thread() and reader.is_alive()
    src.close()
    assert not reader.is_alive()  # stopped and joined
    src.close()  # idempotent
    assert log.count("close") == 1 and src.read() is None


def test_a_reopened_camera_gets_a_new_reader_and_the_old_one_ends():
    log: list[str] = []
    cameras: list[FlakyCamera] = []
    src = resilient(["ok", "raise", "ok", "ok"], log, cameras)
    src.read()
    with pytest.raises(CameraFault):
        src.read()
    src.read()
    src.read()
    (first,) = cameras[0].readers
    (second,) = cameras[1].readers
    assert first is not second and second.is_alive()
    first.join(1.0)
    assert not first.is_alive()
    src.close()
    assert not second.is_alive()


@pytest.mark.parametrize(
    ("step", "reason"), [("hang", "timed out"), ("raise", "disconnected"), ("none", "no frame")]
)
def test_each_fault_is_reported_then_the_camera_is_reopened(step, reason):
    log: list[str] = []
    src = resilient(["ok", step, "ok"], log)
    first = src.read()
    with pytest.raises(CameraFault, match=reason) as fault:
        src.read()
    assert fault.value.attempt == 1 and fault.value.retry_in_s == pytest.approx(0.05)
    again = src.read()  # waits the backoff, reopens, reads
    assert again is not None and again.index == first.index + 1 and again.t > first.t
    assert log.count("open") == 2 and src.reopens == 1
    src.close()


def test_backoff_doubles_up_to_the_ceiling_and_resets_after_a_frame():
    log: list[str] = []
    src = resilient(["raise"] * 4 + ["ok"], log, retry_initial_s=0.01, retry_max_s=0.03)
    delays = []
    for _ in range(4):
        with pytest.raises(CameraFault) as fault:
            src.read()
        delays.append(fault.value.retry_in_s)
    assert delays == pytest.approx([0.01, 0.02, 0.03, 0.03])
    assert src.read() is not None
    src.close()


def test_gives_up_after_give_up_s_without_a_frame():
    log: list[str] = []
    src = resilient(["raise"] * 100, log, give_up_s=0.4, retry_initial_s=0.05, retry_max_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(CameraError, match="giving up so the service restarts"):
        while True:
            with contextlib.suppress(CameraFault):
                src.read()
    assert 0.35 <= time.monotonic() - t0 < 2.0
    src.close()


def test_stop_interrupts_the_backoff():
    stop = threading.Event()
    log: list[str] = []
    src = resilient(["raise"], log, retry_initial_s=30.0, retry_max_s=30.0, stop=stop)
    with pytest.raises(CameraFault):
        src.read()
    threading.Timer(0.1, stop.set).start()
    t0 = time.monotonic()
    assert src.read() is None
    assert time.monotonic() - t0 < 1.0


def test_runner_shows_fault_on_the_led_logs_it_and_recovers(tmp_path, config):
    """End to end with real trackers, the real event log and gpiozero's MockFactory (no face, so a
    fixed classifier stands in for the model)."""
    factory = MockFactory(pin_class=MockPWMPin)
    output = AlertOutput(GpioConfig(), pin_factory=factory)
    log: list[str] = []
    src = resilient(["ok"] * 5 + ["hang", "raise", "none"] + ["ok"] * 60, log)
    tracker = DriverFaceTracker(HaarFaceDetector(config.detector), config.detector, config.face)
    pipeline = Pipeline(tracker, FixedClassifier(), config)
    levels: list[str] = []

    class Watch(AlertOutputSink):
        def on_event(self, event):
            super().on_event(event)
            if event.kind == "alert":
                levels.append(event.data["level"])

    events_path = tmp_path / "e.jsonl"
    runner = Runner(src, pipeline, [EventLogSink(EventLog(events_path)), Watch(output)], max_frames=60)
    runner.run()
    ev = read_events(events_path)
    faults = [e for e in ev if e["kind"] == "fault"]
    assert [f["attempt"] for f in faults] == [1, 2, 3]
    assert "timed out" in faults[0]["reason"] and "disconnected" in faults[1]["reason"]
    assert "no frame" in faults[2]["reason"]
    assert levels[0] == "fault"
    alerts = [e for e in ev if e["kind"] == "alert"]
    assert alerts[0]["reason"].startswith("camera fault")
    assert ev[-1]["kind"] == "summary" and ev[-1]["frames"] == 60
    led = factory.pin(GpioConfig().led_pin)
    buzzer = factory.pin(GpioConfig().buzzer_pin)
    assert not buzzer.state and not led.state  # closed: everything off
    factory.close()
