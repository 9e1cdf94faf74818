"""Per-driver calibration: the driver's own open-eye, resting-mouth and straight-ahead levels.

Narrow eyes, glasses and a camera mounted off to one side make fixed thresholds wrong for many
drivers. :class:`DriverCalibration` learns the driver's levels from attentive frames (face well
seen, eyes open by the eye model, head roughly towards the camera) as medians (the lower quartile for
the mouth, which talking keeps open half the time), which one laugh or glance cannot move. It is calibrated after ``learn_s`` seconds of such frames; until then the
conservative defaults of :class:`edge_monitor.config.CalibrationConfig` apply. Afterwards the
medians keep following the attentive frames of the latest ``window_s`` (a slow refresh: a new driver,
or a camera knocked aside, is learnt within minutes). Pure: the time is passed in.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np

from edge_monitor.config import CalibrationConfig
from edge_monitor.types import Baseline, FaceGeometry


def default_baseline(cfg: CalibrationConfig) -> Baseline:
    """The conservative levels used until the driver is calibrated (head straight at the camera)."""
    return Baseline(False, cfg.default_ear, cfg.default_mouth_open, cfg.default_mouth_width, 0.0, 0.0)


class DriverCalibration:
    """Learns :class:`Baseline` from attentive frames.

    Args:
        cfg: Calibration settings.
    """

    def __init__(self, cfg: CalibrationConfig) -> None:
        self._cfg = cfg
        self._samples: deque[tuple[float, float, float, float, float, float]] = deque()
        self._last_sample_t: float | None = None
        self._last_attentive_t: float | None = None
        self.learnt_s = 0.0
        self.baseline = default_baseline(cfg)

    def attentive(self, geometry: FaceGeometry, closed_prob: float | None) -> bool:
        """Whether a frame may be learnt from: face well seen, eyes open, head towards the camera.

        Args:
            geometry: The landmark reading of the frame.
            closed_prob: The eye model's P(closed), or None when it did not run (not a veto).
        """
        c = self._cfg
        return (
            geometry.presence >= c.min_presence
            and (closed_prob is None or closed_prob <= c.open_eye_max_prob)
            and abs(geometry.yaw_deg) <= c.max_yaw_deg
            and abs(geometry.pitch_deg) <= c.max_pitch_deg
        )

    def update(self, now: float, geometry: FaceGeometry | None, closed_prob: float | None) -> Baseline:
        """Feed one frame (``geometry`` None: no landmarks); returns the current baseline."""
        if geometry is None or not self.attentive(geometry, closed_prob):
            return self.baseline
        if (
            self._last_attentive_t is not None
            and 0 < now - self._last_attentive_t <= self._cfg.max_frame_gap_s
        ):
            self.learnt_s += now - self._last_attentive_t
        self._last_attentive_t = now
        if self._last_sample_t is not None and now - self._last_sample_t < self._cfg.sample_interval_s:
            return self._with_learnt()
        self._last_sample_t = now
        g = geometry
        ear = g.ear
        self._samples.append((now, ear, g.mouth_open, g.mouth_width, g.yaw_deg, g.pitch_deg))
        while self._samples and self._samples[0][0] < now - self._cfg.window_s:
            self._samples.popleft()
        if self.learnt_s >= self._cfg.learn_s:
            values = np.asarray(self._samples, np.float64)[:, 1:]
            levels = np.median(values, axis=0)
            # The closed-mouth level: a talking or laughing driver's mouth is open half the time,
            # so the median would be a talking level; the lower quartile is the mouth at rest.
            levels[1] = np.percentile(values[:, 1], self._cfg.mouth_rest_percentile)
            self.baseline = Baseline(True, *(float(v) for v in levels), learnt_s=self.learnt_s)
        return self._with_learnt()

    def _with_learnt(self) -> Baseline:
        if self.baseline.learnt_s != self.learnt_s:
            self.baseline = dataclasses.replace(self.baseline, learnt_s=self.learnt_s)
        return self.baseline
