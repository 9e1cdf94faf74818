"""A live camera that survives drop-outs: reads with a timeout, reopens with exponential backoff.

picamera2's ``capture_array`` can block forever on a bad cable, and USB cameras vanish when a
connector shakes loose. :class:`ResilientSource` hands each read to the camera's one reader
thread (started when the camera opens, stopped when it is dropped) and waits with a timeout; a hang,
an exception or an empty read is a :class:`CameraFault` (the runner shows the ``fault`` level and
logs a ``fault`` event), after which the next :meth:`read` waits a backoff (0.5 s, 1 s, 2 s, ...)
and reopens the camera. With no frame for ``give_up_s`` it raises :class:`CameraError`, the
process exits non-zero and systemd restarts it — the cure for a wedged driver.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from edge_monitor.errors import CameraError, SourceError
from edge_monitor.sources.base import FrameSource
from edge_monitor.types import Frame

log = logging.getLogger(__name__)


class CameraFault(Exception):
    """One failed read; the source will retry. Not an EdgeMonitorError: it never ends the run.

    Attributes:
        reason: What went wrong (``read timed out after 2.0 s``, ``no frame``, the exception).
        attempt: Consecutive faults so far (1 for the first).
        retry_in_s: Backoff before the next reopen.
    """

    def __init__(self, reason: str, attempt: int, retry_in_s: float) -> None:
        super().__init__(reason)
        self.reason, self.attempt, self.retry_in_s = reason, attempt, retry_in_s


class ResilientSource:
    """Wraps a live source factory with read timeouts, fault reporting and reopening.

    Frames are re-stamped on one timeline (seconds since this object was created) and one frame
    index sequence, so trackers see continuous time across reopens.

    Args:
        opener: Builds (opens) the underlying live source; called again to reopen.
        read_timeout_s: A read blocking longer than this is a fault.
        retry_initial_s: First backoff; doubled after each consecutive fault.
        retry_max_s: Backoff ceiling.
        give_up_s: With no frame for this long, raise :class:`CameraError`.
        stop: Set to end waits early (shutdown).
        clock: Monotonic clock.

    Raises:
        SourceError: The first open fails (a wrong index or no camera is the user's to fix).
    """

    live = True
    frame_count = None

    def __init__(
        self,
        opener: Callable[[], FrameSource],
        read_timeout_s: float,
        retry_initial_s: float,
        retry_max_s: float,
        give_up_s: float,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opener = opener
        self._timeout = read_timeout_s
        self._retry_initial, self._retry_max = retry_initial_s, retry_max_s
        self._give_up = give_up_s
        self._stop = stop or threading.Event()
        self._clock = clock
        self._reader: CameraReader | None = CameraReader(opener())
        inner = self._reader.source
        self.name, self.fps, self.size = inner.name, inner.fps, inner.size
        self._t0 = clock()
        self._last_frame_t = self._t0
        self._index = 0
        self._faults = 0
        self._retry_at: float | None = None
        self.reopens = 0
        self._closed = False

    def elapsed(self) -> float:
        """Seconds on this source's timeline (for events raised without a frame)."""
        return self._clock() - self._t0

    @property
    def last_index(self) -> int:
        """Index of the last frame delivered (-1 before the first)."""
        return self._index - 1

    def _fault(self, reason: str) -> CameraFault:
        self._faults += 1
        delay = min(self._retry_max, self._retry_initial * 2 ** (self._faults - 1))
        self._retry_at = self._clock() + delay
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close(wait_s=0.0)  # a hung driver may never return: do not wait for it
        log.warning("camera fault (%s); reopening in %.1f s (attempt %d)", reason, delay, self._faults)
        return CameraFault(reason, self._faults, delay)

    def read(self) -> Frame | None:
        """The next frame.

        Raises:
            CameraFault: This read failed; call again to retry after the backoff.
            CameraError: No frame for ``give_up_s``.
        """
        if self._closed or self._stop.is_set():
            return None
        if self._clock() - self._last_frame_t >= self._give_up:
            raise CameraError(
                f"{self.name}: no frame for {self._give_up:.0f} s; giving up so the service restarts"
            )
        if self._reader is None:
            if self._retry_at is not None and self._stop.wait(max(0.0, self._retry_at - self._clock())):
                return None
            try:
                self._reader = CameraReader(self._opener())
                self.reopens += 1
            except SourceError as exc:
                raise self._fault(f"reopen failed: {exc}") from None
        try:
            frame = self._reader.read(self._timeout)
        except Exception as exc:
            raise self._fault(str(exc) or type(exc).__name__) from None
        if frame is None:
            raise self._fault("the camera returned no frame")
        now = self._clock()
        self._last_frame_t = now
        if self._faults:
            log.info("camera back after %d fault(s)", self._faults)
            self._faults = 0
        out = Frame(bgr=frame.bgr, gray=frame.gray, t=now - self._t0, index=self._index)
        self._index += 1
        return out

    def close(self, wait_s: float = 1.0) -> None:
        """Release the camera and stop its reader (idempotent); a hung driver is given ``wait_s``."""
        if not self._closed:
            self._closed = True
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.close(wait_s)


class CameraReader:
    """The one thread that reads an opened camera, for as long as it stays open.

    :meth:`read` hands the thread a request and waits for its answer through a one-slot queue, so
    a hung driver blocks this thread, never the loop; the answer of a read that timed out is never
    delivered (the camera is dropped, and its reader with it).

    Args:
        source: The opened live camera.
    """

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self._asks: queue.Queue[bool] = queue.Queue(maxsize=1)
        self._answers: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
        self._closed = False
        self.thread = threading.Thread(target=self._serve, name="camera-read", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self._asks.get():  # False: stop
            try:
                answer: tuple[str, object] = ("frame", self.source.read())
            except Exception as exc:  # reported to the caller as a fault
                answer = ("error", exc)
            self._answers.put(answer)

    def read(self, timeout_s: float) -> Frame | None:
        """The camera's next frame.

        Raises:
            TimeoutError: No answer within ``timeout_s``.
            Exception: Whatever the camera's ``read`` raised.
        """
        self._asks.put(True)
        try:
            kind, value = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"read timed out after {timeout_s:.1f} s") from None
        if kind == "error":
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def close(self, wait_s: float) -> None:
        """Stop the thread and close the camera (idempotent), each given ``wait_s`` to finish.

        A closer thread of its own: a hung driver may never return from ``close()`` either.
        """
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(queue.Full):  # full only while a read is still being answered
            self._asks.put_nowait(False)
        closer = threading.Thread(
            target=_close_quietly, args=(self.source,), name="camera-close", daemon=True
        )
        closer.start()
        closer.join(wait_s)
        self.thread.join(wait_s)


def _close_quietly(source: FrameSource) -> None:
    try:
        source.close()
    except Exception:  # closing a broken camera may fail too; nothing left to do
        log.debug("closing the faulted camera failed", exc_info=True)
