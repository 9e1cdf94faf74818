"""The one way the daemon's pipeline is built: models and detectors from the config, loaded once.

The CLI (``edge-monitor``, ``--validate-config`` included) and every benchmark that measures the
pipeline build it here, so a benchmark measures what the daemon runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy modules (OpenCV, LiteRT) are imported when the models load
    from edge_monitor.config import Config
    from edge_monitor.eyes import EyeStateEstimator
    from edge_monitor.faces import DriverFaceTracker
    from edge_monitor.inference import TfliteClassifier
    from edge_monitor.landmarks import FaceLandmarker
    from edge_monitor.mouth import YawnEstimator
    from edge_monitor.pipeline import Pipeline, StageTimer


@dataclass
class DeviceModels:
    """The daemon's models and face detectors, loaded once; each :meth:`pipeline` is a fresh run.

    Attributes:
        cfg: The configuration they were built from.
        emotion_path: The emotion model's file (the ``start`` event names it).
        emotion: The emotion classifier.
        eyes: The eye-state estimator.
        yawns: The yawn estimator.
        landmarks: The landmark stage (None when ``landmarks.enabled`` is off).
        detector: The face detector of ``detector.kind``.
        turned: Haar's turned-face detector (None for BlazeFace).
        tracker: The face tracker of the last :meth:`pipeline` (None before the first).
    """

    cfg: Config
    emotion_path: Path
    emotion: TfliteClassifier
    eyes: EyeStateEstimator
    yawns: YawnEstimator
    landmarks: FaceLandmarker | None
    detector: object
    turned: object | None
    tracker: DriverFaceTracker | None = field(default=None, init=False)
    _closed: bool = field(default=False, init=False, repr=False)

    def pipeline(self, timer: StageTimer | None = None) -> Pipeline:
        """The daemon's pipeline over these models, with a fresh face tracker and fresh trackers.

        Args:
            timer: Told when each stage of a step ends (benchmarks); None: nothing is timed.
        """
        from edge_monitor.faces import DriverFaceTracker
        from edge_monitor.pipeline import Pipeline

        cfg = self.cfg
        self.tracker = DriverFaceTracker(self.detector, cfg.detector, cfg.face, self.turned)
        return Pipeline(
            self.tracker,
            self.emotion,
            cfg,
            eyes=self.eyes,
            yawns=self.yawns,
            timer=timer,
            landmarks=self.landmarks,
        )

    def close(self) -> None:
        """Release every model and detector (idempotent)."""
        if not self._closed:
            self._closed = True
            _close_all([self.emotion, self.eyes, self.yawns, self.landmarks, self.detector])


def _close_all(parts: list) -> None:
    for part in parts:
        if hasattr(part, "close"):  # Haar's cascades hold nothing to release
            part.close()


def load_models(cfg: Config, threads: int | None = None) -> DeviceModels:
    """Load the emotion, eye-state and yawn models, the landmark stage and the face detectors.

    Args:
        cfg: The configuration (``models``, ``eyes``, ``landmarks``, ``detector``).
        threads: Interpreter threads; None: ``models.threads`` (benchmarks pass their own).

    Raises:
        EdgeMonitorError: A model or cascade is missing, malformed or of the wrong task; whatever
            was loaded before the failure is released.
    """
    from edge_monitor.eyes import EyeStateEstimator
    from edge_monitor.faces import build_detectors
    from edge_monitor.inference import load_classifier
    from edge_monitor.landmarks import load_landmarker
    from edge_monitor.mouth import YawnEstimator
    from edge_monitor.paths import model_path

    threads = cfg.models.threads if threads is None else threads
    models = cfg.models
    built: list = []
    try:
        emotion_path = model_path(models.emotion, "emotion")
        built.append(load_classifier(emotion_path, threads=threads, task="emotion"))
        eye_path = model_path(models.eye_state, "eye_state")
        built.append(
            EyeStateEstimator(load_classifier(eye_path, threads=threads, task="eye_state"), cfg.eyes)
        )
        yawn_path = model_path(models.yawn, "yawn")
        built.append(YawnEstimator(load_classifier(yawn_path, threads=threads, task="yawn")))
        built.append(load_landmarker(cfg, threads))
        built.extend(build_detectors(cfg.detector, threads))
    except BaseException:
        _close_all(built)
        raise
    return DeviceModels(cfg, emotion_path, *built)
