"""Values passed between the pipeline's stages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np


def new_event_id() -> str:
    """A fresh event id: a random UUID (unique across runs and vehicles, no clock involved)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face rectangle in full-frame pixel coordinates."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        """Area in pixels."""
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        """Centre point (x, y)."""
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def clip(self, width: int, height: int) -> FaceBox:
        """Return the part of the box inside a ``width`` x ``height`` frame."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.x + self.w), min(height, self.y + self.h)
        return FaceBox(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def expand(self, margin: float) -> FaceBox:
        """Return the box grown by ``margin`` times its size on every side."""
        dx, dy = round(self.w * margin), round(self.h * margin)
        return FaceBox(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)


@dataclass(frozen=True)
class Frame:
    """One camera or video frame.

    Attributes:
        bgr: The colour image, HxWx3 uint8 in BGR order.
        gray: The same image in grey, HxW uint8.
        t: Time of capture in seconds (clip time on replay, monotonic time live).
        index: Frame number from the start of the run, starting at 0.
    """

    bgr: np.ndarray
    gray: np.ndarray
    t: float
    index: int

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return int(self.gray.shape[1])

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return int(self.gray.shape[0])


@dataclass(frozen=True)
class Prediction:
    """Class probabilities from one classifier call."""

    probs: np.ndarray
    labels: tuple[str, ...]

    @property
    def top(self) -> tuple[str, float]:
        """The most probable label and its probability."""
        i = int(np.argmax(self.probs))
        return self.labels[i], float(self.probs[i])


URGENT_KINDS = frozenset({"sleep", "unresponsive"})
"""Event kinds a batching sink (the fleet telemetry) sends at once, and the event log ``fsync``-s."""


@dataclass(frozen=True)
class Event:
    """Something worth logging: one JSON Lines record.

    Attributes:
        kind: Event kind (``start``, ``face_found``, ``face_lost``, ``emotion``, ``summary``, ...).
        t: Seconds since the start of the run (clip time on replay).
        frame: Frame index the event belongs to.
        data: Kind-specific fields, JSON-serialisable.
        id: Unique id given when the event is made; the event log and the fleet telemetry carry
            the same id, so a consumer can de-duplicate redeliveries. Not part of equality.
    """

    kind: str
    t: float
    frame: int
    data: dict = field(default_factory=dict)
    id: str = field(default_factory=new_event_id, compare=False)

    @property
    def urgent(self) -> bool:
        """Whether this event must leave at once (its kind is in :data:`URGENT_KINDS`)."""
        return self.kind in URGENT_KINDS

    def to_record(self) -> dict:
        """The JSON object written to the event log: ``t``, ``frame``, ``kind``, ``id`` first."""
        record = {"t": round(float(self.t), 3), "frame": int(self.frame), "kind": self.kind, "id": self.id}
        return record | self.data


@dataclass(frozen=True)
class EmotionState:
    """The stable emotion reported by the emotion window.

    Attributes:
        label: Stable emotion, or None until enough face time has been seen.
        confidence: Mean probability of ``label`` over the window.
        distribution: Mean probability of every label over the window.
    """

    label: str | None
    confidence: float
    distribution: dict[str, float]


@dataclass(frozen=True)
class DriverState:
    """What the trackers know about the driver at one instant (all durations in seconds).

    Attributes:
        eyes_closed_s: Length of the current eye closure (0 when open).
        perclos: PERCLOS, or None until enough of its window has been seen.
        recent_microsleeps: Microsleeps within ``fatigue.repeat_window_s``.
        recent_yawns: Yawns within ``fatigue.repeat_window_s``.
        distracted_s: The distraction timer (``edge_monitor.attention``): away time that short
            looks back do not clear.
        away_cause: Why the driver was last away (``face absent`` or ``looking away``).
        vats_s: Away time within the VATS window.
        vats_warning: The visual time-sharing warning is latched.
        asleep: Eyes closed longer than ``attention.sleep_s``.
        unresponsive: The driver has not answered a closure, warning or alarm yet.
        negative_emotion: The negative emotion being reported, or None.
        negative_emotion_s: How long it has been reported.
        blank_s: How long the picture has been blank or dark.
        picture: ``blank`` or ``dark``: what is wrong with the picture while ``blank_s`` > 0.
        degraded_s: How long a found face's landmarks have been unreliable.
        degraded: Why monitoring is degraded, or None.
        camera_fault: Why no frame arrived, or None.
        eyes_hidden: The eyes are hidden (sunglasses): their state is unknown.
    """

    eyes_closed_s: float = 0.0
    perclos: float | None = None
    recent_microsleeps: int = 0
    recent_yawns: int = 0
    distracted_s: float = 0.0
    away_cause: str = "face absent"
    vats_s: float = 0.0
    vats_warning: bool = False
    asleep: bool = False
    unresponsive: bool = False
    negative_emotion: str | None = None
    negative_emotion_s: float = 0.0
    blank_s: float = 0.0
    picture: str = "blank"
    degraded_s: float = 0.0
    degraded: str | None = None
    camera_fault: str | None = None
    eyes_hidden: bool = False


@dataclass(frozen=True)
class FatigueStats:
    """Running totals of the fatigue trackers (for the summary)."""

    blinks: int = 0
    blink_mean_s: float | None = None
    microsleeps: int = 0
    long_closures: int = 0
    yawns: int = 0
    max_perclos: float = 0.0


@dataclass(frozen=True)
class FaceGeometry:
    """What the face-landmark model reads from the driver's face in one frame.

    Filled by the landmark stage (``edge_monitor.landmarks``); consumed by the calibration and the
    eye/yawn/attention decisions. All ratios are scale-free, so they do not change with the distance
    to the camera.

    Attributes:
        points: (468, 2) float32 landmark positions in full-frame pixels (x, y), MediaPipe's mesh order.
        presence: The landmark model's face score in [0, 1]; low means no face, or a heavily
            occluded one (e.g. a hand over the face).
        ear_left: Eye aspect ratio (lid opening over eye width) of the eye on the image's left.
        ear_right: The same for the eye on the image's right.
        mouth_open: Inner-lip opening over mouth width (about 0 closed; tall, yawning mouths exceed 0.6).
        mouth_width: Mouth width over the distance between the outer eye corners.
        yaw_deg: Head yaw in degrees, 0 facing the camera (sign convention in ``edge_monitor.landmarks``).
        pitch_deg: Head pitch in degrees, 0 level (sign convention in ``edge_monitor.landmarks``).
        roll_deg: Head roll in degrees, 0 upright.
    """

    points: np.ndarray
    presence: float
    ear_left: float
    ear_right: float
    mouth_open: float
    mouth_width: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float

    @property
    def ear(self) -> float:
        """The mean of both eyes' aspect ratios (what calibration learns and the closed test compares)."""
        return 0.5 * (self.ear_left + self.ear_right)


@dataclass(frozen=True)
class Baseline:
    """The driver's own levels (the defaults until calibrated).

    Attributes:
        calibrated: Whether the levels are the driver's own (False: the configured defaults).
        ear: Open-eye aspect ratio (mean of both eyes).
        mouth_open: Resting inner-lip opening over mouth width.
        mouth_width: Resting mouth width over the outer-eye-corner distance.
        yaw_deg: Straight-ahead head yaw as the camera sees it.
        pitch_deg: Straight-ahead head pitch as the camera sees it.
        learnt_s: Attentive time learnt from so far.
    """

    calibrated: bool
    ear: float
    mouth_open: float
    mouth_width: float
    yaw_deg: float
    pitch_deg: float
    learnt_s: float = 0.0

    @property
    def state(self) -> str:
        """``calibrated`` or ``calibrating`` (for STATUS and the summary)."""
        return "calibrated" if self.calibrated else "calibrating"

    def to_record(self) -> dict:
        """The levels as a JSON-serialisable dict (summary event)."""
        return {
            "state": self.state,
            "learnt_s": round(self.learnt_s, 2),
            "ear": round(self.ear, 4),
            "mouth_open": round(self.mouth_open, 4),
            "mouth_width": round(self.mouth_width, 4),
            "yaw_deg": round(self.yaw_deg, 2),
            "pitch_deg": round(self.pitch_deg, 2),
        }


@dataclass(frozen=True)
class StepResult:
    """What the pipeline made of one frame.

    Attributes:
        frame: The frame.
        face: The driver's face box in this frame (possibly held over a missed detection), or None.
        face_detected: True when the detector found the face in this very frame.
        face_present: Debounced face presence (what ``face_found``/``face_lost`` report).
        emotion: This frame's emotion prediction, or None without a face.
        stable: The windowed, hysteresis-filtered emotion.
        events: Events raised by this frame.
        eye_closed_prob: Mean P(closed) of both eyes, or None without a face.
        yawn_prob: P(yawn), or None without a face (frontal or turned).
        driver: The trackers' view of the driver.
        level: The alert level after this frame.
        reason: Why the level is what it is (empty when ok).
        stats: Running fatigue totals.
        turned_face: A face turned from the camera, found when no frontal face was (its mouth
            gives ``yawn_prob``; it does not make the face present), or None.
        geometry: The face landmarks' reading of the driver's face this frame, or None (no face,
            no landmark model, or the landmark model rejected the box).
        eye_state: The decided eye state: ``open``, ``closed``, ``hidden`` (sunglasses), ``away``
            (looking away) or ``unseen`` (see :mod:`edge_monitor.decisions`).
        looking_away: The head is turned beyond the limits from the driver's straight-ahead.
        mouth_wide: Whether the mouth was open as in a yawn this frame (None: not seen).
        baseline: The driver's calibrated (or default) levels, or None without decisions.
    """

    frame: Frame
    face: FaceBox | None
    face_detected: bool
    face_present: bool
    emotion: Prediction | None
    stable: EmotionState
    events: tuple[Event, ...] = ()
    eye_closed_prob: float | None = None
    yawn_prob: float | None = None
    driver: DriverState = field(default_factory=DriverState)
    level: str = "ok"
    reason: str = ""
    stats: FatigueStats = field(default_factory=FatigueStats)
    turned_face: FaceBox | None = None
    geometry: FaceGeometry | None = None
    eye_state: str = "unseen"
    looking_away: bool = False
    mouth_wide: bool | None = None
    baseline: Baseline | None = None
