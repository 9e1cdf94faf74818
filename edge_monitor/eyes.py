"""Eye state (open / closed) from two eye crops, and the sunglasses check on the eye regions.

The eye model is trained on CEW patches: 24×24 grey squares centred on one eye, the eye spanning
about two thirds of the width. :func:`edge_monitor.crops.eye_boxes` places such squares at fixed
fractions of a face box (measured on real Haar boxes, see ``benchmarks/eye_locator.py``);
:class:`HaarEyeLocator` optionally re-centres them on ``haarcascade_eye`` detections. The crops
reach the model through :func:`edge_monitor.crops.resize_to` and
:meth:`TfliteClassifier.predict_pixels`, the same preprocessing as training.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from edge_monitor.config import Config, EyesConfig
from edge_monitor.crops import MIN_EYE_PX, crop, eye_boxes, eye_patches, resize_to, usable
from edge_monitor.errors import ModelFormatError, ModelMismatchError
from edge_monitor.faces import cascade_path
from edge_monitor.inference import TfliteClassifier, load_classifier
from edge_monitor.paths import model_path
from edge_monitor.types import FaceBox


class EyeLocator(Protocol):
    """Finds the two eye squares of a face: image-left eye first."""

    def locate(self, gray: np.ndarray, face: FaceBox) -> tuple[FaceBox, FaceBox]: ...


class GeometricEyeLocator:
    """Fixed fractions of the face box (:func:`eye_boxes`); costs nothing."""

    def locate(self, gray: np.ndarray, face: FaceBox) -> tuple[FaceBox, FaceBox]:
        """The eye squares of ``face`` (``gray`` is not looked at)."""
        return eye_boxes(face)


class HaarEyeLocator:
    """``haarcascade_eye`` in the upper part of the face, falling back to the geometric squares.

    The cascade runs on the face's top ``haar_search_height_frac`` scaled to ``haar_search_width_px``
    wide. For each eye the detection nearest the geometric eye centre (within ``haar_max_offset_frac``
    of the face width) re-centres that eye's square, moved down by ``haar_lid_shift_frac`` of the
    face height (the cascade's boxes reach up to the brow, so their centres sit above the lid line);
    the square keeps the geometric size, so the crop's scale matches training whichever way the eye
    was found. Built once (the cascade is loaded here).

    Args:
        cfg: Eye settings (the ``haar_*`` keys).
    """

    def __init__(self, cfg: EyesConfig | None = None) -> None:
        self._cfg = cfg if cfg is not None else EyesConfig()
        path = cascade_path(self._cfg.haar_cascade)
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelFormatError(f"{path} is not a Haar cascade XML file")
        self.found = 0  # eyes placed by the cascade
        self.fallbacks = 0  # eyes placed geometrically

    def detect(self, gray: np.ndarray, face: FaceBox) -> list[FaceBox]:
        """The cascade's eye boxes in the face's upper part, in frame coordinates."""
        c = self._cfg
        top = round(face.h * c.haar_search_height_frac)
        region = FaceBox(face.x, face.y, face.w, top).clip(gray.shape[1], gray.shape[0])
        if region.w < MIN_EYE_PX * 2 or region.h < MIN_EYE_PX:
            return []
        scale = min(1.0, c.haar_search_width_px / region.w)
        patch = crop(gray, region)
        if scale < 1.0:
            patch = resize_to(patch, max(1, round(region.w * scale)), max(1, round(region.h * scale)))
        min_px = max(MIN_EYE_PX, round(c.haar_min_eye_frac * face.w * scale))
        max_px = max(min_px + 1, round(c.haar_max_eye_frac * face.w * scale))
        found = self._cascade.detectMultiScale(
            patch,
            scaleFactor=c.haar_scale_factor,
            minNeighbors=c.haar_min_neighbors,
            minSize=(min_px, min_px),
            maxSize=(max_px, max_px),
        )
        return [
            FaceBox(
                region.x + round(x / scale), region.y + round(y / scale), round(w / scale), round(h / scale)
            )
            for (x, y, w, h) in np.asarray(found).reshape(-1, 4)
        ]

    def locate(self, gray: np.ndarray, face: FaceBox) -> tuple[FaceBox, FaceBox]:
        """The eye squares, each re-centred on its nearest detection when there is one."""
        geometric = eye_boxes(face)
        shift = self._cfg.haar_lid_shift_frac * face.h
        centres = [(b.x + b.w / 2.0, b.y + b.h / 2.0 + shift) for b in self.detect(gray, face)]
        limit = self._cfg.haar_max_offset_frac * face.w
        out = []
        for box in geometric:
            gx, gy = box.center
            near = [(np.hypot(cx - gx, cy - gy), cx, cy) for cx, cy in centres]
            near = [n for n in near if n[0] <= limit]
            if near:
                _, cx, cy = min(near)
                out.append(FaceBox(round(cx - box.w / 2.0), round(cy - box.h / 2.0), box.w, box.h))
                self.found += 1
            else:
                out.append(box)
                self.fallbacks += 1
        return out[0], out[1]


def make_locator(cfg: EyesConfig) -> EyeLocator:
    """The locator named by ``eyes.locate``."""
    return HaarEyeLocator(cfg) if cfg.locate == "haar" else GeometricEyeLocator()


class EyeStateEstimator:
    """P(eyes closed) of the driver's face from the int8 eye-state model.

    Args:
        classifier: The eye-state model (built once); its labels must include ``"closed"``.
        cfg: Eye settings (locator and threshold).
        locator: Overrides the locator named by ``cfg.locate`` (tests, benchmarks).

    Raises:
        ModelMismatchError: The model has no ``"closed"`` label.
    """

    def __init__(
        self, classifier: TfliteClassifier, cfg: EyesConfig, locator: EyeLocator | None = None
    ) -> None:
        if "closed" not in classifier.labels:
            raise ModelMismatchError(
                f"eye model {getattr(classifier, 'path', '')} has labels {classifier.labels}; expected"
                " one named 'closed' (use models/eye_state.tflite from conversion.eyes)"
            )
        self._clf = classifier
        self.cfg = cfg
        self._closed = classifier.labels.index("closed")
        self._size = classifier.meta.input_size
        self.locator = locator if locator is not None else make_locator(cfg)

    def eye_pixels(self, gray: np.ndarray, face: FaceBox) -> list[np.ndarray]:
        """The usable eye crops at the model's input size (uint8), image-left eye first."""
        h, w = gray.shape[:2]
        return [
            resize_to(crop(gray, box), *self._size)
            for box in self.locator.locate(gray, face)
            if usable(box, w, h)
        ]

    def eye_pixels_at(self, gray: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
        """The usable eye patches centred on face-mesh landmarks (:func:`edge_monitor.crops.eye_patches`)."""
        return eye_patches(gray, points, self._size)

    def closed_prob(self, gray: np.ndarray, face: FaceBox) -> float | None:
        """Mean P(closed) over the usable eye crops; None when neither crop is usable."""
        return self.closed_prob_of(self.eye_pixels(gray, face))

    def closed_prob_of(self, eyes: list[np.ndarray]) -> float | None:
        """Mean P(closed) over crops from :meth:`eye_pixels`; None for no crops."""
        if not eyes:
            return None
        # flip_average: a mirrored eye is still an eye (training flips them too).
        flip = self.cfg.flip_average
        return float(np.mean([self._clf.predict(e, flip_tta=flip).probs[self._closed] for e in eyes]))

    def close(self) -> None:
        """Release the classifier it was given (idempotent)."""
        self._clf.close()


def load_eye_estimator(cfg: Config) -> EyeStateEstimator:
    """The eye-state estimator of a config: ``models.eye_state`` (or the shipped model) + ``eyes``."""
    clf = load_classifier(model_path(cfg.models.eye_state, "eye_state"), threads=cfg.models.threads)
    return EyeStateEstimator(clf, cfg.eyes)


# The cheek reference square sits this many eye-square sides below the eye square: below a
# sunglass lens (large lenses reach 1.2 sides down), above the mouth.
CHEEK_DROP = 1.6


def eye_darkness(gray: np.ndarray, eyes: tuple[FaceBox, FaceBox]) -> tuple[float, float] | None:
    """How dark and flat the eye regions are: the raw sunglasses check.

    Each eye square is compared with the cheek below it (the same square moved down by
    :data:`CHEEK_DROP` of its side, below a sunglass lens): dark sunglasses make the eye region much darker than the
    skin and featureless, while an open or closed eye keeps its lids, lashes, iris and the white
    of the eye.

    Args:
        gray: The grey frame.
        eyes: The two eye squares (:func:`eye_boxes` or :func:`landmark_eye_boxes`).

    Returns:
        ``(ratio, std)``: the eye regions' mean grey level over the cheeks' (mean of both eyes),
        and the eye regions' grey-level standard deviation; None when no eye and cheek pair lies
        inside the frame.
    """
    h, w = gray.shape[:2]
    ratios, stds = [], []
    for box in eyes:
        cheek = FaceBox(box.x, box.y + round(CHEEK_DROP * box.h), box.w, box.h)
        if not (usable(box, w, h) and usable(cheek, w, h)):
            continue
        eye_px, cheek_px = crop(gray, box), crop(gray, cheek)
        ratios.append(float(eye_px.mean()) / max(1.0, float(cheek_px.mean())))
        stds.append(float(eye_px.std()))
    if not ratios:
        return None
    return float(np.mean(ratios)), float(np.mean(stds))


def eyes_look_hidden(darkness: tuple[float, float] | None, cfg: EyesConfig) -> bool | None:
    """Whether :func:`eye_darkness` says sunglasses (None: not measured)."""
    if darkness is None:
        return None
    ratio, std = darkness
    return ratio < cfg.hidden_dark_ratio and std < cfg.hidden_max_std
