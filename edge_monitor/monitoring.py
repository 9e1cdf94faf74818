"""Whether the monitoring itself can be trusted: a found face whose landmarks are unreliable.

Euro NCAP asks that the driver be told within 10 s when driver monitoring is degraded. A blank or
dark picture is timed by ``edge_monitor.fatigue.LensTracker``; this module times the other case:
the face is found, but the landmark model rejects it or scores it low (a hand or an object over the
face, heavy occlusion), so neither the head pose nor the eyes can be read. Pure: time passed in.
"""

from __future__ import annotations

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
