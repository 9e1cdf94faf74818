"""Face presence, debounced: the one tracker of whether the driver's face is there.

The pipeline feeds it every frame's raw detection; everything else that needs presence (the
emotion window's reset, :attr:`edge_monitor.types.StepResult.face_present`) reads its state. Pure:
the time is passed in.
"""

from __future__ import annotations

from edge_monitor.config import FaceConfig
from edge_monitor.types import Event


class PresenceTracker:
    """Debounced face presence: ``face_found`` / ``face_lost`` only after a sustained change.

    Args:
        cfg: ``found_after_s`` and ``lost_after_s``.
    """

    def __init__(self, cfg: FaceConfig) -> None:
        self._cfg = cfg
        self.present = False
        self._change_since: float | None = None  # when the raw state started to disagree
        self._last_seen_t: float | None = None

    def update(self, now: float, frame: int, detected: bool) -> Event | None:
        """Feed one frame's raw detection; returns an event when the debounced state flips."""
        if detected:
            self._last_seen_t = now
        if detected == self.present:
            self._change_since = None
            return None
        if self._change_since is None:
            self._change_since = now
        wait = self._cfg.found_after_s if detected else self._cfg.lost_after_s
        if now - self._change_since < wait:
            return None
        self.present = detected
        self._change_since = None
        if detected:
            return Event("face_found", now, frame)
        last = self._last_seen_t if self._last_seen_t is not None else now
        return Event("face_lost", now, frame, {"last_seen_t": round(last, 3)})
