"""Yawn (mouth wide open) from the lower part of the driver's Haar face box.

The yawn model is trained on YawDD in-car frames (``conversion.yawn``): the frames' faces are
found by the Haar detector, :func:`mouth_box` cuts the lower face out of each box and the crop
reaches the model through :func:`edge_monitor.crops.resize_to` and
:meth:`TfliteClassifier.predict_pixels`, the same path as here. A yawning mouth drops the jaw
below the Haar box, so the region reaches past the box's bottom edge.

The region is stored in the model's metadata (``extra.mouth_region``); :class:`YawnEstimator`
uses the stored one, so a model retrained with another region keeps working unchanged.
This is a per-frame probability only: the sustained-time logic (mouth open ≥ ``yawn_min_s``,
talking is shorter) is :class:`edge_monitor.fatigue.YawnTracker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edge_monitor.config import Config
from edge_monitor.crops import crop, mouth_patch, resize_to
from edge_monitor.errors import ModelFormatError, ModelMismatchError
from edge_monitor.inference import TfliteClassifier, load_classifier
from edge_monitor.paths import model_path
from edge_monitor.types import FaceBox

MIN_MOUTH_PX = 12  # a crop narrower or shorter than this (in the frame) carries no mouth shape
MIN_INSIDE_FRAC = 0.6  # share of the mouth region that must lie inside the frame


@dataclass(frozen=True)
class MouthRegion:
    """The mouth region as fractions of a Haar face box (0 = its left/top edge, 1 = right/bottom).

    Values outside 0..1 reach beyond the box. The defaults were chosen on the YawDD validation
    split (see ``reports/yawn/evaluation.json``): the lower face from the nose tip down to below
    the chin, where a dropped jaw ends up.
    """

    left: float = 0.15
    right: float = 0.85
    top: float = 0.50
    bottom: float = 1.10

    def __post_init__(self) -> None:
        if not (self.right > self.left and self.bottom > self.top):
            raise ValueError(f"mouth region {self} is empty: needs right > left and bottom > top")

    def to_dict(self) -> dict[str, float]:
        """A JSON-serialisable dict (stored in the model's metadata)."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> MouthRegion:
        """The region stored in a model's metadata.

        Raises:
            ModelFormatError: A fraction is missing or not a number.
        """
        try:
            return cls(**{k: float(raw[k]) for k in ("left", "right", "top", "bottom")})
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"yawn metadata has a bad mouth_region {dict(raw)!r} ({exc}); regenerate it"
            ) from None


MOUTH_REGION = MouthRegion()


def mouth_box(face: FaceBox, region: MouthRegion = MOUTH_REGION) -> FaceBox:
    """The lower-face region of ``face`` used for yawn classification (not clipped to the frame).

    Args:
        face: The Haar face box.
        region: Fractions of the box (default: the shipped model's region).
    """
    x0 = face.x + round(region.left * face.w)
    x1 = face.x + round(region.right * face.w)
    y0 = face.y + round(region.top * face.h)
    y1 = face.y + round(region.bottom * face.h)
    return FaceBox(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def usable(box: FaceBox, width: int, height: int) -> bool:
    """Whether a mouth region lies mostly inside the frame and is big enough to read."""
    inside = box.clip(width, height)
    return (
        inside.w >= MIN_MOUTH_PX
        and inside.h >= MIN_MOUTH_PX
        and inside.area >= MIN_INSIDE_FRAC * max(1, box.area)
    )


def mouth_pixels(
    gray: np.ndarray, face: FaceBox, size: tuple[int, int], region: MouthRegion = MOUTH_REGION
) -> np.ndarray | None:
    """The mouth crop at the model's input ``size`` (width, height), uint8; None if unusable.

    The one function training and the device share: the region clipped to the frame, resized
    with area averaging.
    """
    box = mouth_box(face, region)
    if not usable(box, gray.shape[1], gray.shape[0]):
        return None
    return resize_to(crop(gray, box), size[0], size[1])


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
