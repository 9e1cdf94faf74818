"""The frame-source interface: ``read()`` and an idempotent ``close()``."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from edge_monitor.types import Frame


class FrameSource(Protocol):
    """Where frames come from.

    Attributes:
        name: Human-readable description (for logs and the ``start`` event).
        fps: Nominal frames per second (the clip's rate, or the camera's requested rate).
        frame_count: Frames in a clip, or None for a live source.
        live: True for cameras, whose timestamps come from ``time.monotonic()``.
        size: (width, height) of the frames.
    """

    name: str
    fps: float
    frame_count: int | None
    live: bool
    size: tuple[int, int]

    def read(self) -> Frame | None:
        """The next frame, or None at the end of a clip."""
        ...

    def close(self) -> None:
        """Release the device or file (idempotent)."""
        ...


def make_frame(bgr: np.ndarray, t: float, index: int) -> Frame:
    """A Frame from a BGR image, with its grey version computed once."""
    return Frame(bgr=bgr, gray=cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), t=t, index=index)
