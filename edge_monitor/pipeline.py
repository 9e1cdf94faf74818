"""One frame in, one :class:`StepResult` out: face → landmarks → crops → classifiers → trackers → policy.

With a landmark model, every frame with a face box gets the face's geometry
(:attr:`StepResult.geometry`), and the eye and yawn models see crops centred on the landmarks;
without one (or when it rejects the box) they see the crops placed inside the face box.

No clock and no I/O: the frame's timestamp is the only notion of time.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from edge_monitor.attention import AttentionTracker, judge_away
from edge_monitor.config import Config
from edge_monitor.crops import eye_boxes, eye_line_angle, face_pixels, landmark_eye_boxes
from edge_monitor.decisions import DriverDecisions, Reading
from edge_monitor.emotion_window import EmotionWindow
from edge_monitor.eyes import eye_darkness, eyes_look_hidden
from edge_monitor.faces import DriverFaceTracker
from edge_monitor.fatigue import EyeClosureTracker, YawnTracker
from edge_monitor.inference import Classifier
from edge_monitor.monitoring import DegradedTimer, LensTracker, landmarks_unreliable
from edge_monitor.policy import AlertPolicy
from edge_monitor.presence import PresenceTracker
from edge_monitor.types import (
    DriverState,
    EmotionState,
    Event,
    FaceBox,
    FaceGeometry,
    FatigueStats,
    Frame,
    Prediction,
    StepResult,
)


class EyeEstimator(Protocol):
    """P(eyes closed) for the driver's face (``edge_monitor.eyes.EyeStateEstimator``)."""

    def eye_pixels(self, gray: np.ndarray, face: FaceBox) -> list[np.ndarray]: ...

    def eye_pixels_at(self, gray: np.ndarray, points: np.ndarray) -> list[np.ndarray]: ...

    def closed_prob_of(self, eyes: list[np.ndarray]) -> float | None: ...


class YawnEstimatorLike(Protocol):
    """P(yawn) for the driver's face (``edge_monitor.mouth.YawnEstimator``)."""

    def mouth_pixels(self, gray: np.ndarray, face: FaceBox) -> np.ndarray | None: ...

    def mouth_pixels_at(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray | None: ...

    def yawn_prob_of(self, pixels: np.ndarray | None) -> float | None: ...


class Landmarker(Protocol):
    """Face geometry from the landmark model (``edge_monitor.landmarks.FaceLandmarker``)."""

    def geometry(self, bgr: np.ndarray, box: FaceBox, angle: float = 0.0) -> FaceGeometry | None: ...


class StageTimer(Protocol):
    """Receives the end of each stage of :meth:`Pipeline.step` (benchmarks; the clock is theirs)."""

    def lap(self, stage: str) -> None: ...


STAGES = ("face_detect", "landmarks", "crops", "emotion", "eyes_yawn", "trackers_policy")
"""The stages :meth:`Pipeline.step` reports to a :class:`StageTimer`, in order."""


def _no_lap(stage: str) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class _Seen:
    """What the landmark stage and the models made of one frame's face (all None without one)."""

    geometry: FaceGeometry | None = None
    prediction: Prediction | None = None
    eye_p: float | None = None
    yawn_p: float | None = None


class Pipeline:
    """The per-frame processing chain.

    Args:
        faces: Tracker of the driver's face.
        emotion_model: The emotion classifier.
        cfg: The configuration.
        eyes: Eye-state estimator (None: no drowsiness from the eyes).
        yawns: Yawn estimator (None: no yawn detection).
        timer: Told when each of :data:`STAGES` ends (benchmarks); None: nothing is timed.
        landmarks: Face-landmark stage (None: no geometry, so eye and mouth crops come from the face
            box, landmark reliability is not judged and "away" means the face is absent).
    """

    def __init__(
        self,
        faces: DriverFaceTracker,
        emotion_model: Classifier,
        cfg: Config,
        eyes: EyeEstimator | None = None,
        yawns: YawnEstimatorLike | None = None,
        timer: StageTimer | None = None,
        landmarks: Landmarker | None = None,
    ) -> None:
        self._faces = faces
        self._emotion_model = emotion_model
        self._eyes = eyes
        self._yawns = yawns
        self._landmarks = landmarks
        self._roll = 0.0  # the last frame's eye-line angle: the landmark crop is turned upright by it
        self._flip_tta = cfg.emotion.flip_tta
        self._presence = PresenceTracker(cfg.face)
        self._emotion = EmotionWindow(emotion_model.labels, cfg.emotion)
        self._closure = EyeClosureTracker(cfg.fatigue)
        self._yawn = YawnTracker(cfg.fatigue)
        self._attention = AttentionTracker(cfg.attention)
        self._degraded = DegradedTimer()
        self._lens = LensTracker(cfg.policy.blank_frame_std, cfg.policy.dark_frame_mean)
        self._policy = AlertPolicy(cfg.fatigue, cfg.attention, cfg.policy)
        self._eyes_cfg = cfg.eyes
        self._decisions = DriverDecisions(cfg, landmarks=landmarks is not None)
        self._was_hidden = False
        self._was_calibrated = False
        self._negative = {e.strip() for e in cfg.policy.negative_emotions.split(",") if e.strip()}
        self._negative_since: float | None = None
        self._driver = DriverState()
        self._lap = timer.lap if timer is not None else _no_lap

    def camera_fault(self, now: float, frame: int, reason: str) -> list[Event]:
        """No frame this time (the camera hung, failed or returned nothing): raise ``fault``.

        The fault clears with the next frame that arrives (after the policy's recovery time). The
        time without frames is neither distraction nor attention: the attention timers pause.
        """
        _, events = self._attention.update(now, frame, None, self._closure.closed_s)
        self._driver = dataclasses.replace(self._driver, camera_fault=reason)
        alert = self._policy.evaluate(now, frame, self._driver)
        return [*events, alert] if alert is not None else events

    @property
    def level(self) -> str:
        """The current alert level."""
        return self._policy.level

    def step(self, frame: Frame) -> StepResult:
        """Process one frame."""
        now, index = frame.t, frame.index
        box, detected = self._faces.update(frame.gray, now, frame.bgr)
        self._lap("face_detect")
        events = self._presence_events(now, index, detected)
        # A turned face (no frontal one this frame) still shows the mouth: yawns only.
        turned = None if detected else self._faces.turned_face
        seen = self._perceive(frame, box, turned or box)
        stable, emotion_event = self._emotion.update(
            now, index, seen.prediction.probs if seen.prediction else None
        )
        if emotion_event is not None:
            events.append(emotion_event)
        eyes_dark = self._eyes_dark(frame.gray, box, seen.geometry) if seen.eye_p is not None else None
        reading = self._decisions.update(now, seen.geometry, seen.eye_p, seen.yawn_p, eyes_dark)
        events += self._reading_events(now, index, reading)
        events += self._closure.observe(now, index, reading.eyes_closed)
        events += self._yawn.observe(now, index, reading.mouth_wide, reading.mouth_open)
        self._driver, attention_events = self._driver_state(frame, detected, seen.geometry, reading, stable)
        events += attention_events
        alert = self._policy.evaluate(now, index, self._driver)
        if alert is not None:
            events.append(alert)
        self._lap("trackers_policy")
        return StepResult(
            frame=frame,
            face=box,
            face_detected=detected,
            face_present=self._presence.present,
            emotion=seen.prediction,
            stable=stable,
            events=tuple(events),
            eye_closed_prob=seen.eye_p,
            yawn_prob=seen.yawn_p,
            driver=self._driver,
            level=self._policy.level,
            reason=self._policy.reason,
            stats=self._stats(),
            turned_face=turned,
            geometry=seen.geometry,
            eye_state=reading.eye_state,
            looking_away=reading.looking_away,
            mouth_wide=reading.mouth_wide,
            baseline=reading.baseline if self._landmarks is not None else None,
        )

    def _presence_events(self, now: float, index: int, detected: bool) -> list[Event]:
        """``face_found``/``face_lost`` from the one presence tracker; a lost face resets the emotion."""
        event = self._presence.update(now, index, detected)
        if event is None:
            return []
        if event.kind == "face_lost":
            self._emotion.reset()  # no face, no emotion: it is re-established on return
        return [event]

    def _perceive(self, frame: Frame, box: FaceBox | None, mouth_box: FaceBox | None) -> _Seen:
        """Landmarks, crops and the models' outputs for the driver's face (nothing without a face)."""
        if mouth_box is None:
            return _Seen()
        geometry = None
        if box is not None and self._landmarks is not None:
            geometry = self._landmarks.geometry(frame.bgr, box, self._roll)
        self._roll = eye_line_angle(geometry.points) if geometry is not None else 0.0
        self._lap("landmarks")
        gray = frame.gray
        face = face_pixels(gray, box, self._emotion_model.meta) if box is not None else None
        eyes, mouth = self._crops(gray, box, mouth_box, geometry)
        self._lap("crops")
        prediction = self._emotion_model.predict(face, flip_tta=self._flip_tta) if face is not None else None
        self._lap("emotion")
        eye_p = self._eyes.closed_prob_of(eyes) if self._eyes is not None and box is not None else None
        yawn_p = self._yawns.yawn_prob_of(mouth) if self._yawns is not None else None
        self._lap("eyes_yawn")
        return _Seen(geometry, prediction, eye_p, yawn_p)

    def _crops(
        self, gray: np.ndarray, box: FaceBox | None, mouth_box: FaceBox, geometry: FaceGeometry | None
    ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The eye and mouth crops: centred on the landmarks, else placed inside the face box."""
        eyes, yawns = self._eyes, self._yawns
        if geometry is not None:
            eye_crops = eyes.eye_pixels_at(gray, geometry.points) if eyes is not None else []
            mouth = yawns.mouth_pixels_at(gray, geometry.points) if yawns is not None else None
        else:
            eye_crops = eyes.eye_pixels(gray, box) if eyes is not None and box is not None else []
            mouth = yawns.mouth_pixels(gray, mouth_box) if yawns is not None else None
        return eye_crops, mouth

    def _driver_state(
        self,
        frame: Frame,
        detected: bool,
        geometry: FaceGeometry | None,
        reading: Reading,
        stable: EmotionState,
    ) -> tuple[DriverState, list[Event]]:
        """The picture, degraded-monitoring and attention timers, gathered for the policy."""
        now = frame.t
        blank_s = self._lens.update(now, frame.gray)
        unreliable = landmarks_unreliable(detected, geometry) if self._landmarks is not None else None
        degraded_s = self._degraded.update(now, unreliable)
        # The head-turn input: beyond the driver's straight-ahead limits (calibrated, or the
        # conservative defaults until then); False when the landmarks did not read the face.
        away, cause = judge_away(detected, not self._lens.unusable, unreliable is None, reading.looking_away)
        attention, events = self._attention.update(now, frame.index, away, self._closure.closed_s, cause)
        if stable.label in self._negative:
            self._negative_since = now if self._negative_since is None else self._negative_since
        else:
            self._negative_since = None
        negative = self._negative_since is not None
        driver = DriverState(
            eyes_closed_s=self._closure.closed_s,
            perclos=self._closure.perclos,
            recent_microsleeps=self._closure.microsleeps.count(now),
            recent_yawns=self._yawn.yawns.count(now),
            distracted_s=attention.distracted_s,
            away_cause=attention.cause,
            vats_s=attention.vats_s,
            vats_warning=attention.vats_warning,
            asleep=attention.asleep,
            unresponsive=attention.unresponsive,
            negative_emotion=stable.label if negative else None,
            negative_emotion_s=now - self._negative_since if negative else 0.0,
            blank_s=blank_s,
            picture=self._lens.picture,
            degraded_s=degraded_s,
            degraded=unreliable,
            eyes_hidden=reading.eyes_hidden,
        )
        return driver, events

    def _stats(self) -> FatigueStats:
        """The run's drowsiness totals so far."""
        return FatigueStats(
            blinks=self._closure.blinks,
            blink_mean_s=self._closure.blink_mean_s,
            microsleeps=self._closure.microsleeps.total,
            long_closures=self._closure.long_closures,
            yawns=self._yawn.yawns.total,
            max_perclos=self._closure.max_perclos,
        )

    def _eyes_dark(self, gray: np.ndarray, box: FaceBox | None, geometry: FaceGeometry | None) -> bool | None:
        """This frame's raw sunglasses check on the eye squares (landmark-centred when possible)."""
        if geometry is not None:
            squares = landmark_eye_boxes(geometry.points)
        elif box is not None and self._landmarks is None:
            squares = eye_boxes(box)
        else:
            return None  # no face, or the landmark stage rejected it: not looked at
        return eyes_look_hidden(eye_darkness(gray, squares), self._eyes_cfg)

    def _reading_events(self, now: float, index: int, reading: Reading) -> list[Event]:
        """``eyes_hidden`` when sunglasses come or go; ``calibrated`` once the driver's levels are learnt."""
        events = []
        if reading.eyes_hidden != self._was_hidden:
            self._was_hidden = reading.eyes_hidden
            events.append(Event("eyes_hidden", now, index, {"hidden": reading.eyes_hidden}))
        if reading.baseline.calibrated and not self._was_calibrated:
            self._was_calibrated = True
            events.append(Event("calibrated", now, index, reading.baseline.to_record()))
        return events

    @property
    def alarm_episodes(self) -> int:
        """Alarm episodes so far (an alarm returning within the cooldown is the same episode)."""
        return self._policy.episode
