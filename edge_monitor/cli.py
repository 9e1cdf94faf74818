"""The ``edge-monitor`` command: build the pipeline from options and config, run it, map errors to exit codes."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from edge_monitor import __version__
from edge_monitor.config import Config, dump_yaml, load_config
from edge_monitor.errors import (
    ConfigError,
    EdgeMonitorError,
    FleetUnavailableError,
    OutputError,
    VideoTruncatedError,
)
from edge_monitor.eyes import EyeStateEstimator
from edge_monitor.faces import build_face_tracker
from edge_monitor.inference import load_classifier
from edge_monitor.mouth import YawnEstimator
from edge_monitor.outputs.gpio import open_alert_output
from edge_monitor.outputs.sinks import (
    AlertOutputSink,
    AnnotateSink,
    ConsoleSink,
    EventLogSink,
    LogSink,
    ProgressSink,
    Sink,
)
from edge_monitor.paths import model_path
from edge_monitor.pipeline import Pipeline
from edge_monitor.service import Runner
from edge_monitor.sources import FrameSource
from edge_monitor.systemd import Notifier, setup_logging, under_systemd

log = logging.getLogger("edge_monitor")

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (built on demand, never at import time)."""
    p = argparse.ArgumentParser(
        prog="edge-monitor",
        description="Driver drowsiness and emotion monitor: camera or clip → face → int8 TFLite → events.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N", help="OpenCV camera index (USB webcam)")
    src.add_argument("--picamera", action="store_true", help="the Raspberry Pi camera (picamera2)")
    src.add_argument("--video", type=Path, metavar="PATH", help="replay a recorded clip")
    p.add_argument("--realtime", action="store_true", help="pace a replay to the clip's frame rate")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML config overriding the defaults")
    p.add_argument("--validate-config", action="store_true", help="check the config and exit")
    p.add_argument("--print-config", action="store_true", help="print the effective config as YAML and exit")
    p.add_argument("--events", type=Path, metavar="FILE.jsonl", help="append events to this JSON Lines file")
    p.add_argument("--annotate", type=Path, metavar="OUT.mp4", help="write the frames with boxes and labels")
    p.add_argument(
        "--plot", type=Path, metavar="OUT.png", help="draw a timeline of the run (needs matplotlib)"
    )
    p.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish events to this MQTT broker (mqtt://host:port or mqtts://host:port; overrides fleet.url)",
    )
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument(
        "--gpio",
        choices=["auto", "on", "off", "mock"],
        help="buzzer and LED: auto = real pins if the machine has them (default: gpio.mode in the config)",
    )
    p.add_argument("--quiet", action="store_true", help="do not print events on stdout")
    p.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity"
    )
    p.add_argument("--version", action="version", version=f"edge-monitor {__version__}")
    return p


def open_source(args: argparse.Namespace, cfg: Config, stop: threading.Event) -> FrameSource:
    """The frame source chosen by the options, else by ``source.kind`` in the config.

    A live camera is wrapped in :class:`ResilientSource` (read timeouts, reopening, give-up).
    """
    if args.video is not None:
        from edge_monitor.sources.replay import VideoFileSource

        return VideoFileSource(args.video, realtime=args.realtime)
    src = cfg.source
    if args.camera is not None or (not args.picamera and src.kind == "opencv"):
        from edge_monitor.sources.camera import OpenCvCamera

        index = args.camera if args.camera is not None else src.camera_index
        opener = lambda: OpenCvCamera(index, src.width, src.height, src.fps)  # noqa: E731
    else:
        from edge_monitor.sources.picam import PicameraSource

        opener = lambda: PicameraSource(src.width, src.height, src.fps)  # noqa: E731
    from edge_monitor.sources.resilient import ResilientSource

    return ResilientSource(
        opener, src.read_timeout_s, src.retry_initial_s, src.retry_max_s, src.give_up_s, stop
    )


def _install_signal_handlers(stop: threading.Event) -> dict:
    previous = {}

    def handler(signum, _frame):
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    return previous


def run(args: argparse.Namespace) -> int:
    """Build and run; raises :class:`EdgeMonitorError` on bad input."""
    cfg = load_config(args.config)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    if args.validate_config:
        print(f"config OK: {args.config or 'built-in defaults'}")
        return 0
    if args.max_frames is not None and args.max_frames < 1:
        raise EdgeMonitorError("--max-frames must be at least 1")
    if args.mqtt or cfg.fleet.url:  # a bad URL or a missing paho-mqtt fails before the models load
        from edge_monitor.fleet.sink import preflight

        preflight(cfg.fleet, args.mqtt or cfg.fleet.url)

    emotion_path = model_path(cfg.models.emotion, "emotion")
    threads = cfg.models.threads
    classifier = load_classifier(emotion_path, threads=threads)
    eyes = EyeStateEstimator(
        load_classifier(model_path(cfg.models.eye_state, "eye_state"), threads=threads), cfg.eyes
    )
    yawns = YawnEstimator(load_classifier(model_path(cfg.models.yawn, "yawn"), threads=threads))
    tracker = build_face_tracker(cfg.detector, cfg.face)
    pipeline = Pipeline(tracker, classifier, cfg, eyes=eyes, yawns=yawns)
    stop = threading.Event()
    source = open_source(args, cfg, stop)

    sinks: list[Sink] = []
    try:
        gpio_cfg = dataclasses.replace(cfg.gpio, mode=args.gpio) if args.gpio else cfg.gpio
        sinks.append(AlertOutputSink(open_alert_output(gpio_cfg)))
        if sys.stderr.isatty() and not source.live:
            sinks.append(ProgressSink(source.frame_count))
        if under_systemd():
            sinks.append(LogSink())  # the journal, with structured fields
        elif not args.quiet:
            sinks.append(ConsoleSink())
        events_path = args.events or (Path(cfg.events.path) if cfg.events.path else None)
        fleet = None
        if args.mqtt or cfg.fleet.url:  # before the event log: an event is queued before it is logged
            from edge_monitor.fleet.sink import open_fleet

            try:
                fleet = open_fleet(cfg.fleet, args.mqtt or cfg.fleet.url, events_path)
                sinks.append(fleet)
            except FleetUnavailableError:
                raise
            except OutputError as exc:  # an unusable outbox: monitoring and alerting go on
                log.warning("%s; monitoring continues without fleet telemetry", exc)
        if events_path is not None:
            from edge_monitor.outputs.events import EventLog

            try:
                sinks.append(EventLogSink(EventLog(events_path, cfg.events.max_bytes, cfg.events.keep)))
            except OutputError as exc:  # alerting never depends on the disk
                log.warning("%s; monitoring continues without an event log", exc)
        if cfg.snapshots.enabled:
            from edge_monitor.outputs.snapshots import SnapshotSink

            base = Path(cfg.snapshots.dir) if cfg.snapshots.dir else None
            if base is None:
                if events_path is None:
                    raise ConfigError(
                        "snapshots.enabled needs snapshots.dir or an event log to put them beside"
                    )
                base = events_path.parent / "snapshots"
            sinks.append(SnapshotSink(base, cfg.snapshots.min_level, cfg.snapshots.keep))
        if args.annotate is not None:
            from edge_monitor.outputs.annotate import VideoAnnotator

            sinks.append(AnnotateSink(VideoAnnotator(args.annotate, source.fps, source.size)))
        if args.plot is not None:
            from edge_monitor.outputs.timeline import TimelineSink

            sinks.append(TimelineSink(args.plot, title=source.name))
    except BaseException:
        for sink in sinks:
            sink.close()
        source.close()
        raise

    previous = _install_signal_handlers(stop)
    notifier = Notifier()
    runner = Runner(
        source,
        pipeline,
        sinks,
        stop=stop,
        max_frames=args.max_frames,
        start_info={"model": str(emotion_path), "config": str(args.config) if args.config else None},
        notifier=notifier,
    )
    try:
        summary = runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        notifier.close()
        for model in (classifier, eyes, yawns):
            model.close()
    if not args.quiet:
        print(summary.report(runner.wall_s))
        if fleet is not None:
            c = fleet.counts()
            print(f"fleet: {c['published']} events published, {c['queued']} queued, {c['dropped']} dropped")
    if getattr(source, "ended_early", False):
        raise VideoTruncatedError(
            f"{args.video} ended after {summary.frames} of {source.frame_count} frames: it is truncated;"
            " the events up to there are written"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return run(args)
    except EdgeMonitorError as exc:
        print(f"edge-monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edge-monitor: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
