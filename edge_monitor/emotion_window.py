"""The reported emotion: a sliding window of emotion probabilities with hysteresis.

Pure: the time is passed in (never read from a clock).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from edge_monitor.config import EmotionConfig
from edge_monitor.types import EmotionState, Event


class EmotionWindow:
    """Sliding window of emotion probabilities with a hysteresis-filtered stable label.

    The dominant emotion is the arg-max of the mean probabilities over the last ``window_s``
    seconds of face frames. The reported label changes only when a challenger's mean beats the
    current label's by ``switch_margin`` and the current label has been held ``min_hold_s``:
    per-frame flicker never reaches the event log.

    Args:
        labels: Class labels in model output order.
        cfg: Window settings.
    """

    def __init__(self, labels: tuple[str, ...], cfg: EmotionConfig) -> None:
        self.labels = labels
        self._cfg = cfg
        self._samples: deque[tuple[float, np.ndarray]] = deque()
        self._sum = np.zeros(len(labels), np.float64)
        self._label: int | None = None
        self._since = 0.0

    def _expire(self, now: float) -> None:
        while self._samples and self._samples[0][0] <= now - self._cfg.window_s:
            _, old = self._samples.popleft()
            self._sum -= old
        if not self._samples:
            self._sum[:] = 0.0  # no drift from float subtraction

    def update(self, now: float, frame: int, probs: np.ndarray | None) -> tuple[EmotionState, Event | None]:
        """Add one frame (``probs`` None when there is no face).

        Returns:
            The current state and an ``emotion`` event if the stable label changed.
        """
        if probs is not None:
            p = np.asarray(probs, np.float64)
            self._samples.append((now, p))
            self._sum += p
        self._expire(now)
        event = None
        ready = len(self._samples) >= 2 and now - self._samples[0][0] >= self._cfg.min_face_s
        if not self._samples:
            self._label = None  # the face has been gone a whole window: nothing to report
        elif ready:
            mean = self._sum / len(self._samples)
            best = int(np.argmax(mean))
            if self._label is None or (
                best != self._label
                and mean[best] - mean[self._label] >= self._cfg.switch_margin
                and now - self._since >= self._cfg.min_hold_s
            ):
                previous = None if self._label is None else self.labels[self._label]
                self._label, self._since = best, now
                event = Event(
                    "emotion",
                    now,
                    frame,
                    {
                        "emotion": self.labels[best],
                        "previous": previous,
                        "confidence": round(float(mean[best]), 3),
                        "probs": {lab: round(float(v), 3) for lab, v in zip(self.labels, mean, strict=True)},
                    },
                )
        return self.state, event

    def reset(self) -> None:
        """Forget the window and the reported emotion (the driver's face is gone)."""
        self._samples.clear()
        self._sum[:] = 0.0
        self._label = None

    @property
    def state(self) -> EmotionState:
        """The reported emotion and the window's mean distribution."""
        n = len(self._samples)
        mean = self._sum / n if n else np.zeros(len(self.labels))
        dist = {lab: float(v) for lab, v in zip(self.labels, mean, strict=True)}
        if self._label is None:
            return EmotionState(None, 0.0, dist)
        return EmotionState(self.labels[self._label], float(mean[self._label]), dist)
