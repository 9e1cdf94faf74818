"""The Raspberry Pi camera through picamera2, imported only when this source is used.

picamera2 comes from Raspberry Pi OS's apt (``python3-picamera2``) and is reachable from a
virtual environment created with ``--system-site-packages``; it cannot be imported elsewhere.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from edge_monitor.errors import CameraError, PicameraUnavailableError
from edge_monitor.sources.base import NumberedFrames
from edge_monitor.types import Frame


class PicameraSource(NumberedFrames):
    """Frames from the Pi camera's main stream in ``RGB888`` (which is BGR byte order).

    Args:
        width: Capture width.
        height: Capture height.
        fps: Frame rate requested from the sensor.
        clock: Monotonic clock (injected for tests).

    Raises:
        PicameraUnavailableError: picamera2 cannot be imported.
        CameraError: The camera cannot be configured or started.
    """

    live = True
    frame_count = None

    def __init__(
        self, width: int, height: int, fps: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        try:
            picamera2 = importlib.import_module("picamera2")
        except ImportError:
            raise PicameraUnavailableError(
                "picamera2 is not available: on Raspberry Pi OS run 'sudo apt install python3-picamera2'"
                " and create the venv with --system-site-packages; elsewhere use --camera N or --video"
            ) from None
        self.name = "picamera2"
        self.size = (width, height)
        self.fps = float(fps)
        self._clock = clock
        try:
            self._cam = picamera2.Picamera2()
            config = self._cam.create_video_configuration(
                main={"size": (width, height), "format": "RGB888"},
                controls={"FrameRate": float(fps)},
            )
            self._cam.configure(config)
            self._cam.start()
        except Exception as exc:  # picamera2 raises bare RuntimeError/IndexError for a missing camera
            raise CameraError(f"the Pi camera cannot be started ({exc}); check the ribbon cable") from None
        self._t0 = clock()

    def elapsed(self) -> float:
        """Seconds since the camera was started."""
        return self._clock() - self._t0

    def read(self) -> Frame | None:
        """The next frame from the main stream."""
        if self._closed:
            return None
        try:
            bgr = self._cam.capture_array("main")
        except Exception as exc:
            raise CameraError(f"the Pi camera stopped delivering frames ({exc})") from None
        return self._next_frame(bgr, self.elapsed())

    def _release(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()
