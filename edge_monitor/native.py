"""Quieting native libraries that write to the process's stderr themselves."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence native (C/C++) logging on fd 2 for the duration of the block.

    For libraries that print to stderr themselves (LiteRT's "Created TensorFlow Lite XNNPACK
    delegate", old OpenCV's camera-backend warnings) and also report failures to Python, which
    carry the one-line message we show.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced (pytest capture, IDEs)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


# OpenCV's own log lines: "[ WARN:0@0.389] global cap_ffmpeg.cpp:218 write FFmpeg: ...".
_OPENCV_LINE = re.compile(rb"^\[\s*(?:WARN|ERROR|FATAL)\s*:[^\]]*\]")


class NativeStderrProbe:
    """Captures what OpenCV logs on fd 2 during a block, to tell a failure it reports only there.

    OpenCV's ``VideoWriter.write`` returns nothing and reports a failed write (a full disk) only
    as a log line per frame on stderr. Inside the block fd 2 goes into a pipe: ``text`` holds
    OpenCV's log lines, and any other line (another thread's log, e.g. the fleet publisher's) is
    written back to stderr after the block, so it is neither lost nor taken for a failure.
    """

    def __init__(self) -> None:
        self.text = ""
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)  # a flood of messages is cut, never blocks
        self._saved: int | None = None

    def __enter__(self) -> NativeStderrProbe:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._write_fd, 2)
        return self

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        chunks = []
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        ours, theirs = [], []
        for line in b"".join(chunks).splitlines(keepends=True):
            (ours if _OPENCV_LINE.match(line) else theirs).append(line)
        self.text = b"".join(ours).decode("utf-8", "replace").strip()
        others = b"".join(theirs)
        if others:
            with contextlib.suppress(OSError):
                os.write(2, others)

    def close(self) -> None:
        """Close the pipe (idempotent)."""
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read_fd = self._write_fd = -1
