"""Sinks: where each frame's result and each event go (event log, video, console, progress)."""

from __future__ import annotations

import logging
import sys
from typing import Protocol, TextIO

from edge_monitor.outputs.annotate import VideoAnnotator
from edge_monitor.outputs.events import EventLog
from edge_monitor.types import Event, StepResult


class Sink:
    """Receives events and per-frame results; every method is optional."""

    def on_event(self, event: Event) -> None:
        """Called for every event, in order."""

    def on_frame(self, result: StepResult) -> None:
        """Called once per processed frame, after its events."""

    def summary_fields(self) -> dict:
        """Extra fields for the run's ``summary`` event (e.g. the fleet telemetry's counts)."""
        return {}

    def close(self) -> None:
        """Flush and release (idempotent)."""


class EventLogSink(Sink):
    """Appends every event to a JSON Lines log."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    def on_event(self, event: Event) -> None:
        self.log.write(event)

    def close(self) -> None:
        self.log.close()


def state_lines(result: StepResult) -> list[str]:
    """The alert level and the eye and mouth state, as lines for the video overlay."""
    level = result.level.upper() + (f" ({result.reason})" if result.reason and result.level != "ok" else "")
    lines = [f"level: {level}"]
    d = result.driver
    if result.eye_closed_prob is not None:
        closed = f", closed {d.eyes_closed_s:.1f} s" if d.eyes_closed_s > 0 else ""
        lines.append(f"eyes: {result.eye_state}, P(closed) {result.eye_closed_prob:.2f}{closed}")
    g = result.geometry
    if g is not None:
        lines.append(
            f"EAR {g.ear:.2f}  mouth {g.mouth_open:.2f}"
            f"  yaw {g.yaw_deg:+.0f} pitch {g.pitch_deg:+.0f}" + ("  AWAY" if result.looking_away else "")
        )
    if result.yawn_prob is not None:
        lines.append(f"mouth: P(yawn) {result.yawn_prob:.2f}" + (", yawning" if result.mouth_wide else ""))
    if result.baseline is not None and not result.baseline.calibrated:
        lines.append(f"calibrating ({result.baseline.learnt_s:.1f} s)")
    if d.distracted_s > 0 or d.vats_s > 0:
        lines.append(f"distracted {d.distracted_s:.1f} s  VATS {d.vats_s:.1f} s ({d.away_cause})")
    perclos = "-" if d.perclos is None else f"{d.perclos:.2f}"
    lines.append(f"PERCLOS {perclos}  blinks {result.stats.blinks}  yawns {result.stats.yawns}")
    return lines


class AnnotateSink(Sink):
    """Writes each frame with the face box, labels, alert level and eye/mouth state drawn on it."""

    def __init__(self, annotator: VideoAnnotator) -> None:
        self.annotator = annotator

    def on_frame(self, result: StepResult) -> None:
        self.annotator.write(result, extra_lines=state_lines(result))

    def close(self) -> None:
        self.annotator.close()


def describe(event: Event) -> str:
    """One human-readable line for an event."""
    d = event.data
    if event.kind == "emotion":
        detail = f"{d['emotion']} ({100 * d['confidence']:.0f} %)"
        if d.get("previous"):
            detail += f", was {d['previous']}"
    elif event.kind == "face_lost":
        detail = f"last seen at {d.get('last_seen_t', event.t):.2f} s"
    elif event.kind == "start":
        detail = str(d.get("source", ""))
    elif event.kind == "alert":
        detail = f"{d['previous']} -> {d['level'].upper()}: {d['reason']}"
    elif event.kind in ("microsleep", "eyes_closed", "yawn", "sleep", "unresponsive"):
        detail = f"{d['duration_s']:.2f} s from {d['start_t']:.2f} s"
        if "cause" in d:
            detail += f" ({d['cause']})"
    elif event.kind == "perclos":
        detail = f"{d['value']:.3f} {'above' if d['above'] else 'back below'} {d['threshold']}"
    elif event.kind == "summary":
        detail = f"{d['frames']} frames, face {d['face_pct']:.1f} %, {d['fps']:.1f} fps"
    else:
        detail = " ".join(f"{k}={v}" for k, v in d.items())
    return f"{event.t:8.2f} s  frame {event.frame:6d}  {event.kind:<11} {detail}"


class LevelOutput(Protocol):
    """The buzzer and LED (``edge_monitor.outputs.gpio.AlertOutput`` or ``NullOutput``)."""

    def set_level(self, level: str) -> None: ...

    def close(self) -> None: ...


class AlertOutputSink(Sink):
    """Shows each frame's alert level on the buzzer and LED; switches them off when closed."""

    def __init__(self, output: LevelOutput) -> None:
        self.output = output

    def on_event(self, event: Event) -> None:
        if event.kind == "alert":  # also raised between frames (camera faults)
            self.output.set_level(event.data["level"])

    def on_frame(self, result: StepResult) -> None:
        self.output.set_level(result.level)

    def close(self) -> None:
        self.output.close()


class ConsoleSink(Sink):
    """Prints one line per event (the main job's visible output)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream  # None: whatever sys.stdout is when printing

    def on_event(self, event: Event) -> None:
        print(describe(event), file=self._stream or sys.stdout, flush=True)


class LogSink(Sink):
    """Logs every event; under systemd the journal gets them with structured fields.

    ``EDGE_MONITOR_KIND`` and ``EDGE_MONITOR_LEVEL`` are journal fields
    (``journalctl -u edge-monitor EDGE_MONITOR_KIND=alert``). Alerts above ``ok`` log as warnings.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("edge_monitor.events")

    def on_event(self, event: Event) -> None:
        level = event.data.get("level") if event.kind == "alert" else None
        severity = logging.WARNING if level not in (None, "ok") else logging.INFO
        fields = {"EDGE_MONITOR_KIND": event.kind}
        if level is not None:
            fields["EDGE_MONITOR_LEVEL"] = level
        self._log.log(severity, "%s", describe(event), extra=fields)


class ProgressSink(Sink):
    """A one-line progress bar for replays on a terminal (stderr)."""

    def __init__(self, total: int | None, stream: TextIO | None = None, every: int = 10) -> None:
        self._total = total
        self._stream = stream or sys.stderr
        self._every = every
        self._shown = False

    def on_frame(self, result: StepResult) -> None:
        i = result.frame.index + 1
        if i % self._every and i != self._total:
            return
        if self._total:
            filled = int(30 * min(i, self._total) / self._total)
            bar = "#" * filled + "-" * (30 - filled)
            self._stream.write(f"\r[{bar}] {i}/{self._total} frames")
        else:
            self._stream.write(f"\r{i} frames")
        self._stream.flush()
        self._shown = True

    def on_event(self, event: Event) -> None:
        if self._shown:  # keep event lines from being written over the bar
            self._stream.write("\r" + " " * 60 + "\r")
            self._stream.flush()

    def close(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False
