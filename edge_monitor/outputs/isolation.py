"""Isolation of outputs from each other and from the frame loop.

A console that cannot be written (``>/dev/full``, ``| head -1``), a full disk under the video or the
plot, a snapshot folder gone: each is reported once, on one line, and that output is switched
off; monitoring and alerting go on. The CLI turns "an output failed" into exit code 40 at the end.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

from edge_monitor.outputs.sinks import Sink
from edge_monitor.types import Event, StepResult


def report(message: str) -> None:
    """One ``edge-monitor: error: ...`` line on stderr; never raises (stderr may be broken too)."""
    with contextlib.suppress(Exception):
        print(f"edge-monitor: error: {message}", file=sys.stderr, flush=True)


def describe_error(exc: BaseException) -> str:
    """A short reason for an output's failure (``No space left on device``, ...)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


def silence_stdout() -> None:
    """Point fd 1 at /dev/null, so Python's final flush of a broken stdout cannot fail at exit."""
    with contextlib.suppress(Exception):
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


class IsolatedSink(Sink):
    """Runs ``sink``; its first exception is reported once and switches it off for the rest of the run.

    Args:
        sink: The output.
        what: What it is, for the message (e.g. ``"the annotated video out.mp4"``).
        on_failure: Called once after the failure (e.g. :func:`silence_stdout` for the console).

    Attributes:
        error: Why it failed; None while it works.
    """

    def __init__(self, sink: Sink, what: str, on_failure: Callable[[], None] | None = None) -> None:
        self.sink = sink
        self.what = what
        self.error: str | None = None
        self._on_failure = on_failure

    def fail(self, reason: str) -> None:
        """Record the output's first failure: report it once and call ``on_failure``."""
        if self.error is None:
            self.error = reason
            report(f"{self.what} failed ({reason}); monitoring continues without it")
            if self._on_failure is not None:
                self._on_failure()

    def call(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` for this output unless it already failed; a failure is recorded."""
        if self.error is not None:
            return
        try:
            fn(*args)
        except Exception as exc:  # any output failure must stay out of the frame loop
            self.fail(describe_error(exc))

    def on_event(self, event: Event) -> None:
        self.call(self.sink.on_event, event)

    def summary_fields(self) -> dict:
        if self.error is not None:
            return {}
        try:
            return self.sink.summary_fields()
        except Exception as exc:
            self.fail(describe_error(exc))
            return {}

    def on_frame(self, result: StepResult) -> None:
        self.call(self.sink.on_frame, result)

    def close(self) -> None:
        try:
            self.sink.close()
        except Exception as exc:  # e.g. a video that cannot be finished on a full disk
            self.fail(describe_error(exc))
