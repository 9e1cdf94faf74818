"""The ``edge-monitor`` command: build the pipeline from options and config, run it, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_monitor import __version__
from edge_monitor.errors import (
    ConfigError,
    EdgeMonitorError,
    FleetUnavailableError,
    OutputError,
    UsageError,
    VideoTruncatedError,
)

if TYPE_CHECKING:  # the heavy modules (OpenCV, LiteRT, gpiozero) are imported when used
    from edge_monitor.config import Config
    from edge_monitor.sources import FrameSource

log = logging.getLogger("edge_monitor")

EXIT_USAGE = 2
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # a clean stop: summary, STOPPING, exit 0
IGNORED_SIGNALS = ("SIGUSR1", "SIGUSR2")  # logged and ignored: a stray signal must not stop monitoring


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other error
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _config_bounded_int(section: type, key: str):
    """An argparse type checking an option against the bounds of its config key."""
    meta = next(f.metadata for f in dataclasses.fields(section) if f.name == key)
    lo, hi = meta["lo"], meta["hi"]
    where = f"{section.__name__.removesuffix('Config').lower()}.{key}"

    def parse(text: str) -> int:
        value = _int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"{text[:30]} is out of range, must be between {lo} and {hi} (as {where})"
            )
        return value

    return parse


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text[:30]} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (built on demand, never at import time)."""
    from edge_monitor.config import SourceConfig

    p = _Parser(
        prog="edge-monitor",
        description="Driver drowsiness and emotion monitor: camera or clip → face → int8 TFLite → events.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--camera",
        type=_config_bounded_int(SourceConfig, "camera_index"),
        metavar="N",
        help="OpenCV camera index (USB webcam), 0-63",
    )
    src.add_argument("--picamera", action="store_true", help="the Raspberry Pi camera (picamera2)")
    src.add_argument("--video", type=Path, metavar="PATH", help="replay a recorded clip")
    p.add_argument("--realtime", action="store_true", help="pace a replay to the clip's frame rate")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML config overriding the defaults")
    p.add_argument(
        "--validate-config",
        action="store_true",
        help="check the config, load its models and cascades, and exit",
    )
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
    p.add_argument("--max-frames", type=_positive_int, metavar="N", help="stop after N frames (N >= 1)")
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
    """Stop cleanly on SIGINT, SIGTERM and SIGHUP; log and ignore SIGUSR1/SIGUSR2.

    Installed first thing in :func:`main`, so a signal during start-up (imports, model loading)
    still ends with the ``summary`` event and STOPPING. SIGHUP stops (no reload): to apply a
    changed config, restart (``systemctl restart edge-monitor``).
    """
    previous = {}

    def on_stop(signum, _frame):
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    def on_ignored(signum, _frame):
        log.info("signal %s ignored", signal.Signals(signum).name)

    if threading.current_thread() is threading.main_thread():
        for names, handler in ((STOP_SIGNALS, on_stop), (IGNORED_SIGNALS, on_ignored)):
            for name in names:
                sig = getattr(signal, name, None)
                if sig is not None:
                    previous[sig] = signal.signal(sig, handler)
    return previous


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_paths(args: argparse.Namespace, events_path: Path | None) -> None:
    """Refuse an output that is also an input or another output (it would be overwritten).

    Raises:
        UsageError: Two options name the same file.
    """
    inputs = {"--video": args.video, "--config": args.config}
    outputs = {"--events": events_path, "--annotate": args.annotate, "--plot": args.plot}
    named = [(k, v, "input") for k, v in inputs.items() if v is not None]
    named += [(k, v, "output") for k, v in outputs.items() if v is not None]
    for i, (out_opt, out_path, kind) in enumerate(named):
        if kind != "output":
            continue
        for other_opt, other_path, other_kind in named[:i]:
            if _same_file(out_path, other_path):
                raise UsageError(
                    f"{out_opt} and {other_opt} name the same file ({out_path}); an output must not"
                    f" overwrite {'an input' if other_kind == 'input' else 'another output'}"
                )


def load_models(cfg: Config) -> tuple:
    """The three classifiers (emotion, eye state, yawn), the landmark stage (None when
    ``landmarks.enabled`` is off) and the face tracker, as the run uses them.

    ``--validate-config`` builds them too, so a config that validates starts.
    """
    from edge_monitor.eyes import EyeStateEstimator
    from edge_monitor.faces import build_face_tracker
    from edge_monitor.inference import load_classifier
    from edge_monitor.landmarks import load_landmarker
    from edge_monitor.mouth import YawnEstimator
    from edge_monitor.paths import model_path

    threads = cfg.models.threads
    built = []
    try:
        emotion_path = model_path(cfg.models.emotion, "emotion")
        built.append(load_classifier(emotion_path, threads=threads, task="emotion"))
        eye_model = load_classifier(
            model_path(cfg.models.eye_state, "eye_state"), threads=threads, task="eye_state"
        )
        built.append(EyeStateEstimator(eye_model, cfg.eyes))
        built.append(
            YawnEstimator(load_classifier(model_path(cfg.models.yawn, "yawn"), threads=threads, task="yawn"))
        )
        landmarks = load_landmarker(cfg)
        if landmarks is not None:
            built.append(landmarks)
        tracker = build_face_tracker(cfg.detector, cfg.face, threads)
    except BaseException:
        for model in built:
            model.close()
        raise
    return emotion_path, *built[:3], landmarks, tracker


class _Outputs:
    """The sinks of one run, each isolated (see ``outputs.isolation``), and whether any failed."""

    def __init__(self) -> None:
        self.sinks: list = []
        self.isolated: list = []

    def add(self, sink, what: str | None = None, on_failure=None):
        if what is None:  # the buzzer and LED: the alert itself, never switched off
            self.sinks.append(sink)
            return sink
        from edge_monitor.outputs.isolation import IsolatedSink

        wrapped = IsolatedSink(sink, what, on_failure)
        self.sinks.append(wrapped)
        self.isolated.append(wrapped)
        return wrapped

    def failures(self) -> list[str]:
        found = [f"{s.what}: {s.error}" for s in self.isolated if s.error is not None]
        for s in self.isolated:
            dropped = getattr(getattr(s.sink, "log", None), "dropped", 0)
            if s.error is None and dropped:
                found.append(f"{s.what}: {dropped} events not written")
        return found

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.exception("closing %s failed", type(sink).__name__)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Build and run; raises :class:`EdgeMonitorError` on bad input."""
    from edge_monitor.config import dump_yaml, load_config

    stop = stop or threading.Event()
    cfg = load_config(args.config)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    events_path = args.events or (Path(cfg.events.path) if cfg.events.path else None)
    check_paths(args, events_path)
    if args.mqtt or cfg.fleet.url:  # a bad URL or a missing paho-mqtt fails before the models load
        from edge_monitor.fleet.sink import preflight

        preflight(cfg.fleet, args.mqtt or cfg.fleet.url)

    emotion_path, classifier, eyes, yawns, landmarks, tracker = load_models(cfg)
    models = tuple(m for m in (classifier, eyes, yawns, landmarks) if m is not None)
    if args.validate_config:
        for model in models:
            model.close()
        print(f"config OK: {args.config or 'built-in defaults'} (models and cascades load)")
        return 0
    try:
        return _run(args, cfg, stop, events_path, emotion_path, classifier, eyes, yawns, landmarks, tracker)
    finally:
        for model in models:
            model.close()


def _run(args, cfg, stop, events_path, emotion_path, classifier, eyes, yawns, landmarks, tracker) -> int:
    from edge_monitor.outputs.gpio import open_alert_output
    from edge_monitor.outputs.isolation import silence_stdout
    from edge_monitor.outputs.sinks import (
        AlertOutputSink,
        AnnotateSink,
        ConsoleSink,
        EventLogSink,
        LogSink,
        ProgressSink,
    )
    from edge_monitor.pipeline import Pipeline
    from edge_monitor.service import Runner
    from edge_monitor.systemd import Notifier, under_systemd

    pipeline = Pipeline(tracker, classifier, cfg, eyes=eyes, yawns=yawns, landmarks=landmarks)
    source = open_source(args, cfg, stop)
    outputs = _Outputs()
    console = None
    fleet = None
    try:
        gpio_cfg = dataclasses.replace(cfg.gpio, mode=args.gpio) if args.gpio else cfg.gpio
        outputs.add(AlertOutputSink(open_alert_output(gpio_cfg)))
        if sys.stderr.isatty() and not source.live:
            outputs.add(ProgressSink(source.frame_count), "the progress bar (stderr)")
        if under_systemd():
            outputs.add(LogSink(), "the journal")  # with structured fields
        elif not args.quiet:
            console = outputs.add(ConsoleSink(), "the console (stdout)", silence_stdout)
        if args.mqtt or cfg.fleet.url:  # before the event log: an event is queued before it is logged
            from edge_monitor.fleet.sink import open_fleet

            url = args.mqtt or cfg.fleet.url
            try:
                fleet = open_fleet(cfg.fleet, url, events_path)
                outputs.add(fleet, f"the fleet telemetry to {url}")
            except FleetUnavailableError:
                raise
            except OutputError as exc:  # an unusable outbox: monitoring and alerting go on
                log.warning("%s; monitoring continues without fleet telemetry", exc)
        if events_path is not None:
            from edge_monitor.outputs.events import EventLog
            from edge_monitor.outputs.logfile import NotAnEventLogError

            try:
                log_file = EventLog(events_path, cfg.events.max_bytes, cfg.events.keep)
                outputs.add(EventLogSink(log_file), f"the event log {events_path}")
            except NotAnEventLogError:
                raise  # someone else's file: refused, never written to
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
            try:
                outputs.add(
                    SnapshotSink(base, cfg.snapshots.min_level, cfg.snapshots.keep),
                    f"the snapshots in {base}",
                )
            except OutputError as exc:  # alerts never depend on the disk
                log.warning("%s; monitoring continues without snapshots", exc)
        if args.annotate is not None:
            from edge_monitor.outputs.annotate import VideoAnnotator

            annotator = VideoAnnotator(args.annotate, source.fps, source.size)
            outputs.add(AnnotateSink(annotator), f"the annotated video {args.annotate}")
        if args.plot is not None:
            from edge_monitor.outputs.timeline import TimelineSink

            outputs.add(TimelineSink(args.plot, title=source.name), f"the plot {args.plot}")
    except BaseException:
        outputs.close()
        source.close()
        raise

    notifier = Notifier()
    runner = Runner(
        source,
        pipeline,
        outputs.sinks,
        stop=stop,
        max_frames=args.max_frames,
        start_info={"model": str(emotion_path), "config": str(args.config) if args.config else None},
        notifier=notifier,
    )
    try:
        summary = runner.run()
    finally:
        notifier.close()
    if not args.quiet:

        def report() -> None:
            print(summary.report(runner.wall_s), flush=True)
            if fleet is not None:
                c = fleet.counts()
                print(
                    f"fleet: {c['published']} events published, {c['queued']} queued, {c['dropped']} dropped"
                )

        if console is not None:
            console.call(report)
        else:  # under systemd: stdout is the journal
            with contextlib.suppress(OSError):
                report()
    if getattr(source, "ended_early", False):
        raise VideoTruncatedError(
            f"{args.video} ended after {summary.frames} of {source.frame_count} frames: it is truncated;"
            " the events up to there are written"
        )
    if outputs.failures():  # each was reported once when it happened
        return OutputError.exit_code
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    stop = threading.Event()
    previous = _install_signal_handlers(stop)  # first: a signal during start-up stops cleanly
    try:
        args = build_parser().parse_args(argv)
        from edge_monitor.systemd import setup_logging

        setup_logging(args.log_level)
        return run(args, stop)
    except EdgeMonitorError as exc:
        print(f"edge-monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # only where the handlers could not be installed (not the main thread)
        print("edge-monitor: interrupted", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
