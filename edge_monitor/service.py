"""The main loop: source → pipeline → sinks, stopped by an event; shutdown in a fixed order."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from edge_monitor import __version__
from edge_monitor.outputs.sinks import Sink
from edge_monitor.pipeline import Pipeline
from edge_monitor.sources import FrameSource
from edge_monitor.sources.resilient import CameraFault
from edge_monitor.summary import RunSummary
from edge_monitor.systemd import Notifier
from edge_monitor.types import Event, Frame, StepResult

log = logging.getLogger(__name__)


def status_line(result: StepResult, fps: float) -> str:
    """The systemd STATUS line: rate, alert level, emotion, and what limits the reading.

    ``calibrating`` until the driver's own levels are learnt (landmark decisions only);
    ``eyes hidden (sunglasses)`` while the eye state is unknown for that reason.
    """
    line = f"{fps:.1f} fps, level {result.level}, emotion {result.stable.label or '-'}"
    if result.baseline is not None and not result.baseline.calibrated:
        line += ", calibrating"
    if result.driver.eyes_hidden:
        line += ", eyes hidden (sunglasses)"
    return line


class Runner:
    """Runs the pipeline over a frame source until the source ends, ``stop`` is set or a limit hits.

    Args:
        source: Where frames come from.
        pipeline: The per-frame processing.
        sinks: Receivers of events and frames, called in order.
        stop: Set from a signal handler or another thread to end the loop after the current frame.
        max_frames: Stop after this many frames (None: no limit).
        start_info: Extra fields for the ``start`` event.
        notifier: systemd notifications (READY after the first frame, WATCHDOG from the loop,
            STATUS every few seconds, STOPPING on the way out); None: none.
        clock: Monotonic clock for wall-time statistics and notification pacing only (never for
            tracker time).
    """

    status_interval_s = 2.0

    def __init__(
        self,
        source: FrameSource,
        pipeline: Pipeline,
        sinks: Sequence[Sink],
        stop: threading.Event | None = None,
        max_frames: int | None = None,
        start_info: dict | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.sinks = list(sinks)
        self.stop = stop or threading.Event()
        self.max_frames = max_frames
        self.start_info = start_info or {}
        self.notifier = notifier
        self.clock = clock
        self._last_ping = self._last_status = float("-inf")
        self.summary = RunSummary()
        self.stopped_by = "end"
        self.wall_s = 0.0

    def _emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.on_event(event)

    def run(self) -> RunSummary:
        """Process frames until the end; ``start`` comes first and ``summary`` last, on every path.

        Returns:
            The run's totals.
        """
        t0 = self.clock()
        self._emit(self._start_event())
        try:
            self._loop(t0)
        except BaseException:
            self.stopped_by = "error"
            raise
        finally:
            if self.notifier is not None:
                self.notifier.stopping()
            self.wall_s = self.clock() - t0
            try:
                self._emit(self.summary.event(self.wall_s, self.stopped_by, self._sink_fields()))
            finally:
                self.close()
        return self.summary

    def _start_event(self) -> Event:
        width, height = self.source.size
        data = {
            "source": self.source.name,
            "fps": round(float(self.source.fps), 3),
            "frame_count": self.source.frame_count,
            "width": width,
            "height": height,
            "version": __version__,
            **self.start_info,
        }
        return Event("start", 0.0, 0, data)

    def _loop(self, t0: float) -> None:
        """Read, step and hand on frames until the source ends, ``stop`` is set or the limit hits."""
        ready = False
        while not self.stop.is_set():
            if self.max_frames is not None and self.summary.frames >= self.max_frames:
                self.stopped_by = "max_frames"
                return
            try:
                frame = self.source.read()
            except CameraFault as fault:
                self._camera_fault(fault)
                continue
            if frame is None:
                if self.stop.is_set():  # a source waiting out a fault returns at once on stop
                    self.stopped_by = "signal"
                return
            if not ready and self.notifier is not None:
                self.notifier.ready()  # model loaded and the first frame arrived
            ready = True
            self._process(frame, t0)
        self.stopped_by = "signal"

    def _process(self, frame: Frame, t0: float) -> None:
        result = self.pipeline.step(frame)
        for event in result.events:
            self._emit(event)
        for sink in self.sinks:
            sink.on_frame(result)
        self.summary.update(result)
        if self.notifier is not None:
            self._notify(result, t0)

    def _sink_fields(self) -> dict:
        fields: dict = {}
        for sink in self.sinks:
            extra = getattr(sink, "summary_fields", None)  # sinks need not derive from Sink
            if extra is None:
                continue
            try:
                fields.update(extra())
            except Exception:  # the summary must be written whatever a sink's bookkeeping does
                log.exception("%s.summary_fields failed", type(sink).__name__)
        return fields

    def _camera_fault(self, fault: CameraFault) -> None:
        now = self.source.elapsed()
        frame = max(0, self.source.last_index)
        data = {"reason": fault.reason, "attempt": fault.attempt, "retry_in_s": round(fault.retry_in_s, 3)}
        self._emit(Event("fault", now, frame, data))
        for event in self.pipeline.camera_fault(now, frame, fault.reason):
            self._emit(event)
        if self.notifier is not None and self.notifier.watchdog_interval_s is not None:
            self.notifier.watchdog()  # the loop is alive; the camera is what is broken
            self.notifier.status(f"camera fault: {fault.reason}; retry {fault.attempt}")

    def _notify(self, result: StepResult, t0: float) -> None:
        now = self.clock()
        interval = self.notifier.watchdog_interval_s
        if interval is not None and now - self._last_ping >= interval:
            self.notifier.watchdog()
            self._last_ping = now
        if now - self._last_status >= self.status_interval_s:
            fps = self.summary.frames / (now - t0) if now > t0 else 0.0
            self.notifier.status(status_line(result, fps))
            self._last_status = now

    def close(self) -> None:
        """Close the sinks, then the source (idempotent; each close is attempted)."""
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # one failing sink must not keep the others open
                log.exception("closing %s failed", type(sink).__name__)
        self.source.close()
