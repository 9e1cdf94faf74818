"""Whether the monitoring itself can be trusted: the camera's picture, and the driver's face in it.

Euro NCAP asks that the driver be told within 10 s when driver monitoring is degraded. Two cases
are timed here:

* :class:`LensTracker` — the picture is featureless or dark (a covered or blocked lens);
* :class:`DegradedTimer` with :func:`landmarks_unreliable` — the face is found, but the landmark
  model rejects it or scores it low (a hand or an object over the face, heavy occlusion), so neither
  the head pose nor the eyes can be read.

Pure: time passed in.
"""

from __future__ import annotations

import numpy as np

from edge_monitor.types import FaceGeometry


def landmarks_unreliable(face_found: bool, geometry: FaceGeometry | None) -> str | None:
    """Why a found face cannot be read, or None (no face, or landmarks that can be trusted).

    Args:
        face_found: The detector found the driver's face in this frame.
        geometry: The landmark stage's reading of that face; None when it rejected the face (its
            face score below ``landmarks.min_presence``: a hand or an object over the face).
    """
    if not face_found:
        return None  # no face is distraction (attention), not degraded monitoring
    if geometry is None:
        return "face found but the landmark model rejects it (occluded?)"
    return None


class DegradedTimer:
    """How long monitoring has been degraded without a break, and why."""

    def __init__(self) -> None:
        self._since: float | None = None
        self.reason: str | None = None

    def update(self, now: float, reason: str | None) -> float:
        """Feed one frame's reason (None: monitoring is fine); returns the degraded time so far."""
        self.reason = reason
        if reason is None:
            self._since = None
            return 0.0
        if self._since is None:
            self._since = now
        return now - self._since


class LensTracker:
    """Seconds the picture has been featureless or dark (a covered or blocked lens, a dead sensor, night
    without infrared light).

    Args:
        min_std: Grey-level standard deviation below which a frame has no usable content.
        min_mean: Mean grey level below which a frame is too dark to use (0: never).
    """

    def __init__(self, min_std: float, min_mean: float = 0.0) -> None:
        self._min_std = min_std
        self._min_mean = min_mean
        self._since: float | None = None
        self.picture = "blank"  # what is wrong with the last unusable frame: "blank" or "dark"

    @property
    def unusable(self) -> bool:
        """Whether the last frame fed was blank or dark."""
        return self._since is not None

    def update(self, now: float, gray: np.ndarray) -> float:
        """Feed one frame; returns how long the picture has been blank or dark (0 when it is not)."""
        sample = gray[::8, ::8]  # the contrast of a subsample is enough, at 1/64 of the cost
        mean = float(sample.mean())
        if float(sample.std()) >= self._min_std and mean >= self._min_mean:
            self._since = None
            return 0.0
        self.picture = "dark" if mean < self._min_mean else "blank"
        if self._since is None:
            self._since = now
        return now - self._since
