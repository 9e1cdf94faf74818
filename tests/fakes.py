"""Real, deterministic stand-ins for the parts a test does not exercise (no model, no camera)."""

from __future__ import annotations

import types

import numpy as np

from edge_monitor.errors import CameraError
from edge_monitor.inference import predict_mirrored
from edge_monitor.metadata import ModelMetadata
from edge_monitor.sources.base import NumberedFrames
from edge_monitor.types import Prediction

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class FixedClassifier:
    """A :class:`~edge_monitor.inference.Classifier` answering the same probabilities for any image.

    It checks what it is given as the runtime would (one uint8 image of the metadata's size) and
    counts its calls, so a test sees whether the pipeline called it.

    Args:
        labels: Output labels.
        top: The label given ``p_top``; the rest share what is left equally.
        p_top: Probability of ``top``.
        size: Input (width, height).
    """

    def __init__(
        self,
        labels: tuple[str, ...] = EMOTIONS,
        top: str = "neutral",
        p_top: float = 0.8,
        size: tuple[int, int] = (48, 48),
    ) -> None:
        self.meta = ModelMetadata(name="fixed", labels=labels, input_width=size[0], input_height=size[1])
        self.probs = np.full(len(labels), (1.0 - p_top) / (len(labels) - 1), np.float32)
        self.probs[labels.index(top)] = p_top
        self.calls = 0
        self.closed = False

    @property
    def labels(self) -> tuple[str, ...]:
        return self.meta.labels

    def predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        want = (self.meta.input_height, self.meta.input_width)
        if pixels.dtype != np.uint8 or pixels.shape != want:
            raise ValueError(f"expected a uint8 image of shape {want}, got {pixels.dtype} {pixels.shape}")
        self.calls += 1
        return self.probs.copy()

    def predict(self, pixels: np.ndarray, flip_tta: bool = False) -> Prediction:
        return predict_mirrored(self, pixels, flip_tta)

    def close(self) -> None:
        self.closed = True


class ListSource(NumberedFrames):
    """A clip of ``n`` black frames at 30 fps; optionally raises after some frames (fault injection).

    Attributes:
        closed: How many times :meth:`close` was called.
    """

    name = "list"
    fps = 30.0
    live = False
    size = (64, 48)

    def __init__(self, n: int, fail_after: int | None = None) -> None:
        self.frame_count = n
        self._fail_after = fail_after
        self.closed = 0

    def elapsed(self) -> float:
        return max(0, self.last_index) / self.fps

    def read(self):
        if self._fail_after is not None and self._index == self._fail_after:
            raise CameraError("camera 0 stopped delivering frames")
        if self._index >= self.frame_count or self._closed:
            return None
        return self._next_frame(np.zeros((48, 64, 3), np.uint8), self._index / self.fps)

    def close(self) -> None:
        self.closed += 1
        super().close()

    def _release(self) -> None:
        pass


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` (or ``advance``) is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_fake_picamera2(
    log: list, fail_capture: bool = False, fail_construct: bool = False
) -> types.ModuleType:
    """A stand-in for the ``picamera2`` module that records every call in ``log``."""

    class Picamera2:
        def __init__(self) -> None:
            if fail_construct:
                raise IndexError("list index out of range")  # what picamera2 does without a camera
            log.append(("init",))
            self.size: tuple[int, int] | None = None
            self.shots = 0

        def create_video_configuration(self, main=None, controls=None):
            log.append(("create_video_configuration", main, controls))
            return {"main": main, "controls": controls}

        def configure(self, config):
            log.append(("configure", config))
            self.size = config["main"]["size"]

        def start(self):
            log.append(("start",))

        def capture_array(self, stream="main"):
            log.append(("capture_array", stream))
            if fail_capture:
                raise RuntimeError("Camera frontend has timed out!")
            w, h = self.size
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = 200  # blue, in BGR order
            img[..., 2] = 10 * self.shots
            self.shots += 1
            return img

        def stop(self):
            log.append(("stop",))

        def close(self):
            log.append(("close",))

    mod = types.ModuleType("picamera2")
    mod.Picamera2 = Picamera2
    return mod
