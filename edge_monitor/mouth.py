"""Yawn (mouth wide open) from the lower part of the driver's face box, or the landmark mouth patch.

The yawn model is trained on YawDD in-car frames (``conversion.yawn``): the frames' faces are
found by the Haar detector, :func:`edge_monitor.crops.mouth_box` cuts the lower face out of each
box and the crop reaches the model through :func:`edge_monitor.crops.resize_to` and
:meth:`TfliteClassifier.predict_pixels`, the same path as here. A yawning mouth drops the jaw
below the Haar box, so the region reaches past the box's bottom edge.

The region is stored in the model's metadata (``extra.mouth_region``); :class:`YawnEstimator`
uses the stored one, so a model retrained with another region keeps working unchanged.
This is a per-frame probability only: the sustained-time logic (mouth open ≥ ``yawn_min_s``,
talking is shorter) is :class:`edge_monitor.fatigue.YawnTracker`.
"""

from __future__ import annotations

import numpy as np

from edge_monitor.config import Config
from edge_monitor.crops import MOUTH_REGION, MouthRegion, mouth_patch, mouth_pixels
from edge_monitor.errors import ModelMismatchError
from edge_monitor.inference import TfliteClassifier, load_classifier
from edge_monitor.paths import model_path
from edge_monitor.types import FaceBox


class YawnEstimator:
    """P(yawn) of the driver's face from the int8 yawn model.

    Args:
        classifier: The yawn model (built once); its labels must include ``"yawn"``.
        region: Overrides the mouth region stored in the model's metadata (tests, experiments).

    Raises:
        ModelMismatchError: The model has no ``"yawn"`` label.
        ModelFormatError: The metadata's ``mouth_region`` is malformed.
    """

    def __init__(self, classifier: TfliteClassifier, region: MouthRegion | None = None) -> None:
        if "yawn" not in classifier.labels:
            raise ModelMismatchError(
                f"yawn model {getattr(classifier, 'path', '')} has labels {classifier.labels}; expected"
                " one named 'yawn' (use models/yawn.tflite from conversion.yawn)"
            )
        self._clf = classifier
        self._yawn = classifier.labels.index("yawn")
        self._size = classifier.meta.input_size
        stored = classifier.meta.extra.get("mouth_region")
        if region is not None:
            self.region = region
        elif stored is not None:
            self.region = MouthRegion.from_dict(stored)
        else:
            self.region = MOUTH_REGION

    def mouth_pixels(self, gray: np.ndarray, face: FaceBox) -> np.ndarray | None:
        """The mouth crop at the model's input size (uint8), or None when it is unusable."""
        return mouth_pixels(gray, face, self._size, self.region)

    def mouth_pixels_at(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray | None:
        """The mouth patch centred on face-mesh landmarks (:func:`edge_monitor.crops.mouth_patch`)."""
        return mouth_patch(gray, points, self._size)

    def yawn_prob(self, gray: np.ndarray, face: FaceBox | None) -> float | None:
        """P(yawn) for ``face`` in the grey frame; None without a face or a usable mouth crop."""
        if face is None:
            return None
        return self.yawn_prob_of(self.mouth_pixels(gray, face))

    def yawn_prob_of(self, pixels: np.ndarray | None) -> float | None:
        """P(yawn) for a crop from :meth:`mouth_pixels`; None for no crop."""
        if pixels is None:
            return None
        return float(self._clf.predict_pixels(pixels)[self._yawn])

    def close(self) -> None:
        """Release the model (idempotent)."""
        self._clf.close()


def load_yawn_estimator(cfg: Config) -> YawnEstimator:
    """The yawn estimator of a config: ``models.yawn`` or the shipped model."""
    clf = load_classifier(model_path(cfg.models.yawn, "yawn"), threads=cfg.models.threads)
    return YawnEstimator(clf)
