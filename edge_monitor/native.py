"""Quieting native libraries that write to the process's stderr themselves."""

from __future__ import annotations

import contextlib
import os
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
