"""The outputs the ``edge-monitor`` command opens for one run, each chosen by an option or the config.

Alerting (buzzer and LED) never depends on anything else: every other output is isolated (see
``outputs.isolation``), and one that cannot be opened for a reason outside the user's options
(a full disk, an unusable outbox) is logged and left out, while monitoring goes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge_monitor.errors import ConfigError, FleetUnavailableError, OutputError

if TYPE_CHECKING:
    from edge_monitor.config import Config
    from edge_monitor.sources import FrameSource

log = logging.getLogger("edge_monitor")


@dataclass(frozen=True)
class RunPlan:
    """What the options and the config decide before anything is opened.

    Attributes:
        args: The parsed options.
        cfg: The effective config.
        events_path: The event log (``--events``, else ``events.path``; None: none).
        fleet_url: The MQTT broker (``--mqtt``, else ``fleet.url``; empty: no fleet telemetry).
    """

    args: argparse.Namespace
    cfg: Config
    events_path: Path | None
    fleet_url: str


class RunOutputs:
    """The sinks of one run, each isolated (see ``outputs.isolation``), and whether any failed.

    Attributes:
        sinks: Every sink, in the order the runner calls them.
        console: The console sink (None under systemd or with ``--quiet``).
        fleet: The fleet telemetry sink (None without a broker or when its outbox is unusable).
    """

    def __init__(self) -> None:
        self.sinks: list = []
        self.isolated: list = []
        self.console = None
        self.fleet = None

    def add(self, sink, what: str | None = None, on_failure=None):
        """Add ``sink``; with ``what``, isolated under that name (its failure switches it off)."""
        if what is None:  # the buzzer and LED: the alert itself, never switched off
            self.sinks.append(sink)
            return sink
        from edge_monitor.outputs.isolation import IsolatedSink

        wrapped = IsolatedSink(sink, what, on_failure)
        self.sinks.append(wrapped)
        self.isolated.append(wrapped)
        return wrapped

    def add_unless_unusable(self, opener, what: str, without: str, fatal: tuple[type, ...] = ()):
        """Open a sink with ``opener()`` and add it; an :class:`OutputError` is logged and skipped.

        Args:
            opener: Opens the sink.
            what: The sink's name in messages.
            without: What monitoring goes on without ("an event log").
            fatal: The output errors that end the run instead (the user's mistakes).

        Returns:
            The opened sink, or None when it was skipped.
        """
        try:
            sink = opener()
        except fatal:
            raise
        except OutputError as exc:  # alerting never depends on the disk or the network
            log.warning("%s; monitoring continues without %s", exc, without)
            return None
        self.add(sink, what)
        return sink

    def failures(self) -> list[str]:
        """One line per output that failed during the run (or dropped events)."""
        found = [f"{s.what}: {s.error}" for s in self.isolated if s.error is not None]
        for s in self.isolated:
            dropped = getattr(getattr(s.sink, "log", None), "dropped", 0)
            if s.error is None and dropped:
                found.append(f"{s.what}: {dropped} events not written")
        return found

    def close(self) -> None:
        """Close every sink; a failing close is logged and the others still close."""
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.exception("closing %s failed", type(sink).__name__)


def open_outputs(plan: RunPlan, source: FrameSource) -> RunOutputs:
    """Open the run's outputs in the order they are called: alert, progress, console or journal,
    fleet (an event is queued before it is logged), event log, snapshots, annotated video, plot.

    Raises:
        EdgeMonitorError: An output the user named cannot be used (someone else's file as the
            event log, snapshots with nowhere to go, a broker that cannot be reached); the
            outputs opened so far are closed.
    """
    outputs = RunOutputs()
    try:
        _add_alert_and_console(outputs, plan, source)
        if plan.fleet_url:
            _add_fleet(outputs, plan)
        if plan.events_path is not None:
            _add_event_log(outputs, plan)
        if plan.cfg.snapshots.enabled:
            _add_snapshots(outputs, plan)
        _add_video_outputs(outputs, plan.args, source)
    except BaseException:
        outputs.close()
        raise
    return outputs


def _add_alert_and_console(outputs: RunOutputs, plan: RunPlan, source: FrameSource) -> None:
    from edge_monitor.outputs.gpio import open_alert_output
    from edge_monitor.outputs.isolation import silence_stdout
    from edge_monitor.outputs.sinks import AlertOutputSink, ConsoleSink, LogSink, ProgressSink
    from edge_monitor.systemd import under_systemd

    args, cfg = plan.args, plan.cfg
    gpio_cfg = dataclasses.replace(cfg.gpio, mode=args.gpio) if args.gpio else cfg.gpio
    outputs.add(AlertOutputSink(open_alert_output(gpio_cfg)))
    if sys.stderr.isatty() and not source.live:
        outputs.add(ProgressSink(source.frame_count), "the progress bar (stderr)")
    if under_systemd():
        outputs.add(LogSink(), "the journal")  # with structured fields
    elif not args.quiet:
        outputs.console = outputs.add(ConsoleSink(), "the console (stdout)", silence_stdout)


def _add_fleet(outputs: RunOutputs, plan: RunPlan) -> None:
    from edge_monitor.fleet.sink import open_fleet

    outputs.fleet = outputs.add_unless_unusable(
        lambda: open_fleet(plan.cfg.fleet, plan.fleet_url, plan.events_path),
        f"the fleet telemetry to {plan.fleet_url}",
        "fleet telemetry",  # an unusable outbox: monitoring and alerting go on
        fatal=(FleetUnavailableError,),
    )


def _add_event_log(outputs: RunOutputs, plan: RunPlan) -> None:
    from edge_monitor.outputs.events import EventLog
    from edge_monitor.outputs.logfile import NotAnEventLogError
    from edge_monitor.outputs.sinks import EventLogSink

    path, events = plan.events_path, plan.cfg.events
    outputs.add_unless_unusable(
        lambda: EventLogSink(EventLog(path, events.max_bytes, events.keep)),
        f"the event log {path}",
        "an event log",
        fatal=(NotAnEventLogError,),  # someone else's file: refused, never written to
    )


def _add_snapshots(outputs: RunOutputs, plan: RunPlan) -> None:
    from edge_monitor.outputs.snapshots import SnapshotSink

    snaps = plan.cfg.snapshots
    base = Path(snaps.dir) if snaps.dir else None
    if base is None:
        if plan.events_path is None:
            raise ConfigError("snapshots.enabled needs snapshots.dir or an event log to put them beside")
        base = plan.events_path.parent / "snapshots"
    outputs.add_unless_unusable(
        lambda: SnapshotSink(base, snaps.min_level, snaps.keep), f"the snapshots in {base}", "snapshots"
    )


def _add_video_outputs(outputs: RunOutputs, args: argparse.Namespace, source: FrameSource) -> None:
    from edge_monitor.outputs.sinks import AnnotateSink

    if args.annotate is not None:
        from edge_monitor.outputs.annotate import VideoAnnotator

        annotator = VideoAnnotator(args.annotate, source.fps, source.size)
        outputs.add(AnnotateSink(annotator), f"the annotated video {args.annotate}")
    if args.plot is not None:
        from edge_monitor.outputs.timeline import TimelineSink

        outputs.add(TimelineSink(args.plot, title=source.name), f"the plot {args.plot}")
