"""Per-frame decisions that tell a laugh from a yawn and a glance down from sleep.

The eye and yawn models see one small crop each; on their own they read a laughing squint as
closed eyes and a laughing mouth, or a hand over it, as a yawn. With the face landmarks
(:class:`edge_monitor.types.FaceGeometry`) and the driver's own levels
(:mod:`edge_monitor.calibration`) :class:`DriverDecisions` decides per frame:

* **Looking away**: the head turned or tilted beyond ``attention.max_yaw_deg``/``max_pitch_deg``
  from the driver's straight-ahead. That is attention, not sleep: the eye state is then unknown
  (as openpilot gates its eye probabilities by pose), and the time counts as distraction.
* **Eyes closed**: the eye model says closed *and* the eye aspect ratio is below
  ``eyes.ear_closed_ratio`` of the driver's open-eye level (a squint keeps more of it).
* **Eyes hidden** (dark sunglasses): the eye regions much darker than the cheeks and flat
  (:func:`edge_monitor.eyes.eye_darkness`). Any such frame has an unknown eye state (no closure,
  no blink, PERCLOS pauses); sustained ``eyes.hidden_after_s`` it is reported (``eyes_hidden``).
* **Mouth wide open** (a yawn frame): opening ≥ ``fatigue.yawn_open_min`` and
  ``yawn_open_margin`` above the driver's resting level, not wider than
  ``yawn_max_width_ratio`` times the resting width (a laugh widens the mouth), the landmark face
  score at least ``yawn_min_presence`` (a hand over the mouth lowers it) and the yawn model
  agreeing. How long it lasts is :class:`edge_monitor.fatigue.YawnTracker`'s business.

Without landmarks (no geometry this frame) the models decide alone, as before. Pure: time is
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_monitor.calibration import DriverCalibration
from edge_monitor.config import Config
from edge_monitor.types import Baseline, FaceGeometry

# Eye states reported per frame.
OPEN, CLOSED, HIDDEN, AWAY, UNSEEN = "open", "closed", "hidden", "away", "unseen"
_CLOSED_OF = {OPEN: False, CLOSED: True}  # the other states: unknown (None)


@dataclass(frozen=True)
class Reading:
    """The decisions for one frame.

    Attributes:
        eye_state: ``open``, ``closed``, ``hidden`` (sunglasses), ``away`` (looking away) or
            ``unseen`` (no eye observation).
        looking_away: The head is beyond the straight-ahead limits (False without landmarks).
        eyes_hidden: The eyes are hidden (sustained), e.g. by dark sunglasses.
        mouth_wide: Whether the mouth is open as in a yawn; None when the mouth was not seen.
        mouth_open: The landmark mouth opening this frame, or None.
        baseline: The driver's levels used for this frame.
    """

    eye_state: str
    looking_away: bool
    eyes_hidden: bool
    mouth_wide: bool | None
    mouth_open: float | None
    baseline: Baseline

    @property
    def eyes_closed(self) -> bool | None:
        """True closed, False open, None unknown (hidden, away or unseen): what the closure tracker takes."""
        return _CLOSED_OF.get(self.eye_state)


class _Switch:
    """A yes/no state that changes once the raw signal has disagreed with it for ``after_s``.

    A pending change survives agreeing frames shorter than half of ``after_s`` (one frame of a
    glare on sunglasses must not restart the wait).
    """

    def __init__(self, after_s: float) -> None:
        self._after_s = after_s
        self.on = False
        self._since: float | None = None  # when the raw signal started to disagree
        self._agree_since: float | None = None  # agreeing frames inside a pending change

    def update(self, now: float, raw: bool | None) -> bool:
        if raw is None:  # not looked at: no evidence either way
            return self.on
        if raw != self.on:
            self._since = now if self._since is None else self._since
            self._agree_since = None
            if now - self._since >= self._after_s:
                self.on, self._since = raw, None
        elif self._since is not None:
            self._agree_since = now if self._agree_since is None else self._agree_since
            if now - self._agree_since >= self._after_s / 2:
                self._since = self._agree_since = None
        return self.on


class DriverDecisions:
    """Calibration plus the per-frame eye, mouth and attention decisions.

    Args:
        cfg: The configuration (``eyes``, ``fatigue``, ``attention``, ``calibration``).
        landmarks: Whether a landmark stage runs. With one, a face it rejected (face score under
            ``landmarks.min_presence``: a hand over the face, a false box) has unknown eyes and
            mouth; without one, the eye and yawn models decide alone.
    """

    def __init__(self, cfg: Config, landmarks: bool = False) -> None:
        self._cfg = cfg
        self._landmarks = landmarks
        self.calibration = DriverCalibration(cfg.calibration)
        self._hidden = _Switch(cfg.eyes.hidden_after_s)

    def looking_away(self, g: FaceGeometry, b: Baseline) -> bool:
        """Whether the head is beyond the straight-ahead limits of ``attention``."""
        a = self._cfg.attention
        return abs(g.yaw_deg - b.yaw_deg) > a.max_yaw_deg or abs(g.pitch_deg - b.pitch_deg) > a.max_pitch_deg

    def mouth_wide(self, g: FaceGeometry | None, yawn_prob: float | None, b: Baseline) -> bool | None:
        """Whether the mouth is open as in a yawn (None: not seen)."""
        if g is None:
            if self._landmarks:
                return None  # the landmark stage rejected the face: the mouth is not seen
            return None if yawn_prob is None else yawn_prob >= self._cfg.fatigue.yawn_prob
        f = self._cfg.fatigue
        if g.presence < f.yawn_min_presence:
            return False  # the face is covered (a hand over the mouth): not a yawn
        tall = g.mouth_open >= max(f.yawn_open_min, b.mouth_open + f.yawn_open_margin)
        narrow = g.mouth_width <= f.yawn_max_width_ratio * b.mouth_width
        model = yawn_prob is None or yawn_prob >= f.yawn_prob
        return tall and narrow and model

    def update(
        self,
        now: float,
        geometry: FaceGeometry | None,
        closed_prob: float | None,
        yawn_prob: float | None,
        eyes_dark: bool | None = None,
    ) -> Reading:
        """Decide one frame.

        Args:
            now: Frame time in seconds.
            geometry: The landmark reading, or None (no face, or no landmark model).
            closed_prob: The eye model's mean P(closed), or None (no eye crops).
            yawn_prob: The yawn model's P(yawn), or None (no mouth crop).
            eyes_dark: This frame's raw sunglasses check (:func:`edge_monitor.eyes.eyes_look_hidden`),
                None when the eyes were not looked at.
        """
        b = self.calibration.update(now, geometry, closed_prob)
        hidden = self._hidden.update(now, eyes_dark)
        away = geometry is not None and self.looking_away(geometry, b)
        if hidden or eyes_dark:  # a dark frame is not read as closed while the switch waits
            state = HIDDEN
        elif away:
            state = AWAY
        elif closed_prob is None or (self._landmarks and geometry is None):
            state = UNSEEN
        else:
            closed = closed_prob >= self._cfg.eyes.closed_threshold
            if closed and geometry is not None:
                closed = geometry.ear < self._cfg.eyes.ear_closed_ratio * b.ear
            state = CLOSED if closed else OPEN
        mouth = self.mouth_wide(geometry, yawn_prob, b)
        opening = geometry.mouth_open if geometry is not None else None
        return Reading(state, away, hidden, mouth, opening, b)
