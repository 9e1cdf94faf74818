"""Replay of a recorded clip, as fast as possible or paced to the clip's own frame rate."""

from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from edge_monitor.errors import VideoFormatError, VideoNotFoundError, VideoTruncatedError
from edge_monitor.sources.base import NumberedFrames
from edge_monitor.types import Frame

# ISO base media (MP4/MOV) files carry one of these box types in their first bytes.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


def _looks_like_mp4(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) >= 8 and head[4:8] in _ISO_BOXES


class VideoFileSource(NumberedFrames):
    """Frames of a video file with their clip timestamps.

    Time is the clip's own: each frame's container timestamp (variable-frame-rate phone clips
    included), falling back to the previous time + 1/fps where the container gives none. A fast
    replay and a real-time replay therefore give the same timestamps and the same events.

    Args:
        path: The clip.
        realtime: Pace reading to the clip's frame rate instead of decoding as fast as possible.
        clock: Monotonic clock used for pacing (injected for tests).
        sleep: Sleep function used for pacing.

    Raises:
        VideoNotFoundError: The file does not exist.
        VideoFormatError: OpenCV cannot decode it (not a video).
        VideoTruncatedError: It is an MP4/MOV without a readable index or first frame.
    """

    live = False

    def __init__(
        self,
        path: str | Path,
        realtime: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        try:
            mode = self.path.stat().st_mode
        except OSError:
            raise VideoNotFoundError(f"video file not found: {self.path}; check the --video path") from None
        if not stat.S_ISREG(mode):  # a folder, FIFO or device: never opened (a FIFO would block)
            raise VideoFormatError(f"{self.path} is not a regular file; give a video file to --video")
        # FFmpeg prints its own complaints ("moov atom not found") to stderr; the error raised
        # below says it in one line, so silence FFmpeg unless the user asked for its logs.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise self._unreadable("cannot be opened")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if math.isfinite(fps) and 1.0 <= fps <= 240.0 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 else None
        self.name = f"video {self.path}"
        self.realtime = realtime
        self._clock, self._sleep = clock, sleep
        self._last_t = -1.0
        self._t0: float | None = None
        self._exhausted = False  # set once a decode at the end of the stream returned nothing
        # Decode the first frame now so a damaged file fails before anything is started.
        self._pending = self._decode()
        if self._pending is None:
            self.close()
            raise self._unreadable("has no decodable frame")
        self.size = (int(self._pending.shape[1]), int(self._pending.shape[0]))

    def _unreadable(self, what: str) -> Exception:
        if _looks_like_mp4(self.path):
            return VideoTruncatedError(
                f"{self.path} looks like an MP4/MOV but {what}: it is truncated or damaged; copy it again"
            )
        return VideoFormatError(f"{self.path} {what}: it is not a video OpenCV can decode (try an .mp4)")

    def _decode(self):
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self._decoded_t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        return bgr

    def _timestamp(self) -> float:
        t = self._decoded_t
        if self._index == 0:
            t = 0.0 if not math.isfinite(t) or t < 0 else t
        elif not math.isfinite(t) or t <= self._last_t:  # missing or non-monotonic stamp
            t = self._last_t + 1.0 / self.fps
        self._last_t = t
        return t

    @property
    def ended_early(self) -> bool:
        """True when decoding stopped well before the frame count in the file's header.

        Containers estimate the count from duration x rate, so a few frames (5 %, at least 5) of
        difference are normal; a cut file stops far earlier.
        """
        if not self._exhausted or self.frame_count is None:
            return False
        return self.frame_count - self._index > max(5, 0.05 * self.frame_count)

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the clip."""
        if self._closed:
            return None
        bgr = self._pending if self._pending is not None else self._decode()
        self._pending = None
        if bgr is None:
            self._exhausted = True
            return None
        t = self._timestamp()
        if self.realtime:
            now = self._clock()
            if self._t0 is None:
                self._t0 = now - t
            delay = self._t0 + t - now
            if delay > 0:
                self._sleep(delay)
        return self._next_frame(bgr, t)

    def elapsed(self) -> float:
        """The clip time of the last frame read (0 before the first)."""
        return max(0.0, self._last_t)

    def _release(self) -> None:
        self._cap.release()
