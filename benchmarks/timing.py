"""The pipeline benchmark's instruments: per-frame clocks, timed source and sinks, looping, RSS.

:func:`run_daemon` drives the daemon's own :class:`~edge_monitor.service.Runner` over a pipeline
from :mod:`edge_monitor.builder`, with the daemon's event log and alert sinks (gpiozero's
MockFactory pins), timing every stage of every frame.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from benchmarks.report import ALL_STAGES
from edge_monitor.builder import DeviceModels
from edge_monitor.config import GpioConfig
from edge_monitor.outputs.events import EventLog
from edge_monitor.outputs.gpio import open_alert_output
from edge_monitor.outputs.sinks import AlertOutputSink, EventLogSink, Sink
from edge_monitor.service import Runner
from edge_monitor.sources import FrameSource
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.summary import RunSummary
from edge_monitor.types import Frame, StepResult


def peak_rss_mb() -> float:
    """This process's peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def rss_mb() -> float:
    """This process's resident memory now."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def set_threads(mode: str) -> int:
    """OpenCV's threads for ``mode`` (``one`` or ``default``); returns the interpreter thread count to use."""
    if mode == "one":
        cv2.setNumThreads(1)
        return 1
    return os.cpu_count() or 1


class FrameClock:
    """Per-frame timings: decode (the source), the pipeline's stages and the sinks.

    Args:
        stages: Keep every stage's samples (off in the soak, where only frame times are kept,
            per interval, so the benchmark's own lists do not grow the RSS it measures).
    """

    def __init__(self, stages: bool = True) -> None:
        self.keep_stages = stages
        self.stages: dict[str, list[float]] = {name: [] for name in ALL_STAGES}
        self.frame_s: list[float] = []
        self._t0 = self._t = 0.0

    def begin(self, t0: float) -> None:
        self._t0 = self._t = t0

    def lap(self, stage: str) -> None:
        if self.keep_stages:
            now = time.perf_counter()
            self.stages[stage].append(now - self._t)
            self._t = now

    def end(self) -> None:
        self.frame_s.append(time.perf_counter() - self._t0)


class TimedSource:
    """A frame source whose ``read`` starts the frame's clock and is timed as ``decode``."""

    def __init__(self, source: FrameSource, clock: FrameClock) -> None:
        self._source, self._clock = source, clock
        self.name, self.fps, self.size = source.name, source.fps, source.size
        self.frame_count, self.live = source.frame_count, source.live

    @property
    def last_index(self) -> int:
        return self._source.last_index

    def elapsed(self) -> float:
        return self._source.elapsed()

    def read(self) -> Frame | None:
        t0 = time.perf_counter()
        frame = self._source.read()
        if frame is not None:
            self._clock.begin(t0)
            self._clock.lap("decode")
        return frame

    def close(self) -> None:
        self._source.close()


class TimedSinks(Sink):
    """The sinks of a run, timed together as ``sinks``; the last call of a frame ends its clock."""

    def __init__(self, sinks: list[Sink], clock: FrameClock) -> None:
        self._sinks, self._clock = sinks, clock
        self.detected: list[bool] = []

    def on_event(self, event) -> None:
        for sink in self._sinks:
            sink.on_event(event)

    def on_frame(self, result: StepResult) -> None:
        for sink in self._sinks:
            sink.on_frame(result)
        self._clock.lap("sinks")
        self._clock.end()
        self.detected.append(result.face_detected)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


class LoopedSource:
    """A clip replayed again and again until ``until`` (perf_counter), time running on across loops."""

    live = False
    frame_count = None

    def __init__(self, path: Path, until: float) -> None:
        self._path, self._until = path, until
        self._src = VideoFileSource(path)
        self.name, self.fps, self.size = f"loop {path}", self._src.fps, self._src.size
        self._offset = self._last_t = 0.0
        self._index = 0
        self.loops = 0

    @property
    def last_index(self) -> int:
        return self._index - 1

    def elapsed(self) -> float:
        return self._last_t

    def read(self) -> Frame | None:
        if time.perf_counter() >= self._until:
            return None
        frame = self._src.read()
        if frame is None:
            self._src.close()
            self._offset = self._last_t + 1.0 / self.fps
            self._src = VideoFileSource(self._path)
            self.loops += 1
            frame = self._src.read()
        frame = dataclasses.replace(frame, t=frame.t + self._offset, index=self._index)
        self._last_t, self._index = frame.t, self._index + 1
        return frame

    def close(self) -> None:
        self._src.close()


def run_daemon(
    models: DeviceModels,
    source: FrameSource,
    clock: FrameClock,
    log_path: Path,
    max_frames: int | None = None,
    also: Sequence[Sink] = (),
) -> tuple[TimedSinks, RunSummary]:
    """One run of the daemon's loop over ``source`` with a fresh pipeline from ``models``.

    Args:
        models: The daemon's models (:func:`edge_monitor.builder.load_models`).
        source: The frames.
        clock: Receives every stage's time.
        log_path: The event log written (as the daemon writes it).
        max_frames: Stop after this many frames (None: the whole source).
        also: Sinks called after the timed ones (untimed; the soak's sampler).

    Returns:
        The timed sinks (their face flags) and the run's summary.
    """
    cfg = models.cfg
    sinks = [
        EventLogSink(EventLog(log_path, cfg.events.max_bytes, cfg.events.keep)),
        AlertOutputSink(open_alert_output(GpioConfig(mode="mock"))),
    ]
    timed = TimedSinks(sinks, clock)
    pipeline = models.pipeline(timer=clock)
    summary = Runner(TimedSource(source, clock), pipeline, [timed, *also], max_frames=max_frames).run()
    return timed, summary
