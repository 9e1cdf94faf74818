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
from edge_monitor.errors import EdgeMonitorError, OutputError, UsageError, VideoTruncatedError

if TYPE_CHECKING:  # the heavy modules (OpenCV, LiteRT, gpiozero) are imported when used
    from edge_monitor.builder import DeviceModels
    from edge_monitor.cli_outputs import RunOutputs, RunPlan
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


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Build and run; raises :class:`EdgeMonitorError` on bad input."""
    from edge_monitor.builder import load_models
    from edge_monitor.cli_outputs import RunPlan
    from edge_monitor.config import dump_yaml, load_config

    stop = stop or threading.Event()
    cfg = load_config(args.config)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    events_path = args.events or (Path(cfg.events.path) if cfg.events.path else None)
    check_paths(args, events_path)
    plan = RunPlan(args, cfg, events_path, args.mqtt or cfg.fleet.url)
    if plan.fleet_url:  # a bad URL or a missing paho-mqtt fails before the models load
        from edge_monitor.fleet.sink import preflight

        preflight(cfg.fleet, plan.fleet_url)
    models = load_models(cfg)  # --validate-config loads them too, so a config that validates starts
    try:
        if args.validate_config:
            print(f"config OK: {args.config or 'built-in defaults'} (models and cascades load)")
            return 0
        return _run(plan, models, stop)
    finally:
        models.close()


def _run(plan: RunPlan, models: DeviceModels, stop: threading.Event) -> int:
    """Open the source and outputs, run the loop, report; the exit code."""
    from edge_monitor.cli_outputs import open_outputs
    from edge_monitor.service import Runner
    from edge_monitor.systemd import Notifier

    args = plan.args
    pipeline = models.pipeline()
    source = open_source(args, plan.cfg, stop)
    try:
        outputs = open_outputs(plan, source)
    except BaseException:
        source.close()
        raise
    notifier = Notifier()
    config = str(args.config) if args.config else None
    runner = Runner(
        source,
        pipeline,
        outputs.sinks,
        stop=stop,
        max_frames=args.max_frames,
        start_info={"model": str(models.emotion_path), "config": config},
        notifier=notifier,
    )
    try:
        summary = runner.run()
    finally:
        notifier.close()
    if not args.quiet:
        _report(summary.report(runner.wall_s), outputs)
    if getattr(source, "ended_early", False):
        raise VideoTruncatedError(
            f"{args.video} ended after {summary.frames} of {source.frame_count} frames: it is truncated;"
            " the events up to there are written"
        )
    if outputs.failures():  # each was reported once when it happened
        return OutputError.exit_code
    return 0


def _report(text: str, outputs: RunOutputs) -> None:
    """Print the run's report (and the fleet's counts) where the console is."""

    def report() -> None:
        print(text, flush=True)
        if outputs.fleet is not None:
            c = outputs.fleet.counts()
            print(f"fleet: {c['published']} events published, {c['queued']} queued, {c['dropped']} dropped")

    if outputs.console is not None:
        outputs.console.call(report)
    else:  # under systemd: stdout is the journal
        with contextlib.suppress(OSError):
            report()


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
