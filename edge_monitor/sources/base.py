"""The frame-source interface, and the frame numbering and closing every source shares."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from edge_monitor.types import Frame


@runtime_checkable
class FrameSource(Protocol):
    """Where frames come from: everything the runner (``edge_monitor.service``) uses of a source.

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

    @property
    def last_index(self) -> int:
        """Index of the last frame delivered (-1 before the first)."""
        ...

    def elapsed(self) -> float:
        """Seconds on this source's timeline now (for events raised without a frame, e.g. a fault)."""
        ...

    def read(self) -> Frame | None:
        """The next frame, or None at the end of a clip."""
        ...

    def close(self) -> None:
        """Release the device or file (idempotent)."""
        ...


def make_frame(bgr: np.ndarray, t: float, index: int) -> Frame:
    """A Frame from a BGR image, with its grey version computed once."""
    return Frame(bgr=bgr, gray=cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), t=t, index=index)


class NumberedFrames:
    """Frame indices and the once-only close shared by the sources.

    A subclass calls :meth:`_next_frame` for each image it delivers and implements
    :meth:`_release` (what :meth:`close` does the first time).
    """

    _index = 0
    _closed = False

    @property
    def last_index(self) -> int:
        """Index of the last frame delivered (-1 before the first)."""
        return self._index - 1

    def _next_frame(self, bgr: np.ndarray, t: float) -> Frame:
        frame = make_frame(bgr, t, self._index)
        self._index += 1
        return frame

    def _release(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file (idempotent)."""
        if not self._closed:
            self._closed = True
            self._release()
