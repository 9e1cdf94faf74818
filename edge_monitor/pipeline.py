"""One frame in, one :class:`StepResult` out: face → crop → classifier → trackers. No clock, no I/O."""

from __future__ import annotations

from edge_monitor.config import Config
from edge_monitor.crops import face_pixels
from edge_monitor.faces import DriverFaceTracker
from edge_monitor.inference import TfliteClassifier
from edge_monitor.tracking import EmotionWindow, PresenceTracker
from edge_monitor.types import Frame, StepResult


class Pipeline:
    """The per-frame processing chain.

    Args:
        faces: Tracker of the driver's face.
        emotion_model: The emotion classifier.
        cfg: The configuration.
    """

    def __init__(self, faces: DriverFaceTracker, emotion_model: TfliteClassifier, cfg: Config) -> None:
        self._faces = faces
        self._emotion_model = emotion_model
        self._flip_tta = cfg.emotion.flip_tta
        self._presence = PresenceTracker(cfg.face)
        self._emotion = EmotionWindow(emotion_model.labels, cfg.emotion)

    def step(self, frame: Frame) -> StepResult:
        """Process one frame; the frame's timestamp is the only notion of time."""
        box, detected = self._faces.update(frame.gray, frame.t)
        events = []
        presence_event = self._presence.update(frame.t, frame.index, detected)
        if presence_event is not None:
            events.append(presence_event)
            if presence_event.kind == "face_lost":
                self._emotion.reset()  # no face, no emotion: it is re-established on return
        prediction = None
        if box is not None:
            pixels = face_pixels(frame.gray, box, self._emotion_model.meta)
            prediction = self._emotion_model.predict(pixels, flip_tta=self._flip_tta)
        stable, emotion_event = self._emotion.update(
            frame.t, frame.index, prediction.probs if prediction is not None else None
        )
        if emotion_event is not None:
            events.append(emotion_event)
        return StepResult(
            frame=frame,
            face=box,
            face_detected=detected,
            face_present=self._presence.present,
            emotion=prediction,
            stable=stable,
            events=tuple(events),
        )
