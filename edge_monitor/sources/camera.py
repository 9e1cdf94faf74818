"""A camera opened by OpenCV by index (USB webcams, V4L2 devices)."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2

from edge_monitor.errors import CameraError
from edge_monitor.native import native_stderr_silenced
from edge_monitor.sources.base import NumberedFrames
from edge_monitor.types import Frame


class OpenCvCamera(NumberedFrames):
    """Frames from ``/dev/video<index>`` via OpenCV, timestamped with a monotonic clock.

    Args:
        index: OpenCV camera index.
        width: Requested width.
        height: Requested height.
        fps: Requested frame rate.
        clock: Monotonic clock (injected for tests).

    Raises:
        CameraError: The camera cannot be opened.
    """

    live = True
    frame_count = None

    def __init__(
        self,
        index: int,
        width: int,
        height: int,
        fps: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.name = f"camera {index}"
        self._clock = clock
        # A failed open makes OpenCV print backend warnings; the CameraError says it in one line.
        # OpenCV < 4.12 wheels (Bookworm's pin) have no cv2.utils.logging: silence fd 2 there.
        logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
        if logging_api is not None:
            level = logging_api.getLogLevel()
            logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
            try:
                self._cap = cv2.VideoCapture(index)
            finally:
                logging_api.setLogLevel(level)
        else:
            with native_stderr_silenced():
                self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(
                f"camera {index} cannot be opened; check it is connected (ls /dev/video*) and not in use"
            )
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        got = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = got if got and got > 0 else fps
        w, h = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (w, h) if w > 0 and h > 0 else (width, height)
        self._t0 = clock()

    def elapsed(self) -> float:
        """Seconds since the camera was opened."""
        return self._clock() - self._t0

    def read(self) -> Frame | None:
        """The next frame.

        Raises:
            CameraError: The camera stopped delivering frames.
        """
        if self._closed:
            return None
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise CameraError(f"camera {self.index} stopped delivering frames; check the cable")
        return self._next_frame(bgr, self.elapsed())

    def _release(self) -> None:
        self._cap.release()
