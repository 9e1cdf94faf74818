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
from edge_monitor.summary import RunSummary
from edge_monitor.types import Event

log = logging.getLogger(__name__)


class Runner:
    """Runs the pipeline over a frame source until the source ends, ``stop`` is set or a limit hits.

    Args:
        source: Where frames come from.
        pipeline: The per-frame processing.
        sinks: Receivers of events and frames, called in order.
        stop: Set from a signal handler or another thread to end the loop after the current frame.
        max_frames: Stop after this many frames (None: no limit).
        start_info: Extra fields for the ``start`` event.
        clock: Monotonic clock for the wall-time statistics only (never for tracker time).
    """

    def __init__(
        self,
        source: FrameSource,
        pipeline: Pipeline,
        sinks: Sequence[Sink],
        stop: threading.Event | None = None,
        max_frames: int | None = None,
        start_info: dict | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.sinks = list(sinks)
        self.stop = stop or threading.Event()
        self.max_frames = max_frames
        self.start_info = start_info or {}
        self.clock = clock
        self.summary = RunSummary()
        self.stopped_by = "end"
        self.wall_s = 0.0

    def _emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.on_event(event)

    def run(self) -> RunSummary:
        """Process frames until the end; the ``summary`` event is written on every exit path.

        Returns:
            The run's totals.
        """
        t0 = self.clock()
        started = False
        try:
            while not self.stop.is_set():
                if self.max_frames is not None and self.summary.frames >= self.max_frames:
                    self.stopped_by = "max_frames"
                    break
                frame = self.source.read()
                if frame is None:
                    break
                if not started:
                    started = True
                    self._emit(
                        Event(
                            "start",
                            frame.t,
                            frame.index,
                            {
                                "source": self.source.name,
                                "fps": round(float(self.source.fps), 3),
                                "frame_count": self.source.frame_count,
                                "width": frame.width,
                                "height": frame.height,
                                "version": __version__,
                                **self.start_info,
                            },
                        )
                    )
                result = self.pipeline.step(frame)
                for event in result.events:
                    self._emit(event)
                for sink in self.sinks:
                    sink.on_frame(result)
                self.summary.update(result)
            else:
                self.stopped_by = "signal"
        except BaseException:
            self.stopped_by = "error"
            raise
        finally:
            self.wall_s = self.clock() - t0
            try:
                if started:
                    self._emit(self.summary.event(self.wall_s, self.stopped_by))
            finally:
                self.close()
        return self.summary

    def close(self) -> None:
        """Close the sinks, then the source (idempotent; each close is attempted)."""
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # one failing sink must not keep the others open
                log.exception("closing %s failed", type(sink).__name__)
        self.source.close()
