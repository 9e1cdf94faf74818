"""Haar face detection on a downscaled grey frame, and tracking of the driver's face.

(The tracker drives either detector of ``detector.kind``: this Haar cascade or
:class:`edge_monitor.blazeface.BlazeFaceDetector`; both answer ``detect(image, roi, sizes)``.)

The driver is the largest face. Between full scans, the detector searches only around the last
box (a region a few times the face's size), which is several times cheaper than the whole frame.

A frontal face is what eyes, emotion and attention need. When none is found, a second cascade
looks for a face turned away from the camera (``detector.turned_cascade``, the profile cascade
run on the frame and on its mirror image, since it only knows one side): a driver checking a
mirror, or a camera mounted off-axis, still shows a mouth, so yawns are still seen. A turned
face does not count as present: looking away is distraction.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge_monitor.config import DetectorConfig, FaceConfig
from edge_monitor.errors import ModelFormatError, ModelNotFoundError
from edge_monitor.types import FaceBox


def cascade_path(name: str) -> Path:
    """Resolve a cascade name from ``cv2.data.haarcascades``, or a path as given."""
    p = Path(name)
    if p.is_file():
        return p
    bundled = Path(cv2.data.haarcascades) / name
    if bundled.is_file():
        return bundled
    raise ModelNotFoundError(
        f"Haar cascade not found: {name}; give a path or a file name from {cv2.data.haarcascades}"
    )


class HaarFaceDetector:
    """OpenCV's Haar cascade, built once, run on a downscaled copy of the grey frame.

    Args:
        cfg: Detector settings.

    Raises:
        ModelNotFoundError: The cascade file does not exist.
        ModelFormatError: The file is not a Haar cascade.
    """

    def __init__(self, cfg: DetectorConfig, cascade: str | None = None, both_sides: bool = False) -> None:
        self.cfg = cfg
        self.both_sides = both_sides
        path = cascade_path(cfg.cascade if cascade is None else cascade)
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # not XML at all: OpenCV raises instead of returning empty
            raise ModelFormatError(
                f"{path} is not a Haar cascade XML file; check detector.cascade/turned_cascade"
            ) from None
        if self._cascade.empty():
            raise ModelFormatError(f"{path} is not a Haar cascade XML file")

    @classmethod
    def turned(cls, cfg: DetectorConfig) -> HaarFaceDetector | None:
        """The detector of turned faces (``cfg.turned_cascade`` on both sides), or None when off."""
        return cls(cfg, cfg.turned_cascade, both_sides=True) if cfg.turned_cascade else None

    def detect(
        self, gray: np.ndarray, roi: FaceBox | None = None, sizes: tuple[float, float] | None = None
    ) -> list[FaceBox]:
        """Faces in ``gray``, in full-frame coordinates, largest first.

        Args:
            gray: The grey frame.
            roi: Search only inside this region (None: the whole frame).
            sizes: Smallest and largest face width to look for, in frame pixels (None: from
                ``min_face_frac`` up to the region's size). Each pyramid level costs a pass, so a
                narrow range around a known face is what makes tracking cheap.
        """
        h, w = gray.shape
        region = FaceBox(0, 0, w, h) if roi is None else roi.clip(w, h)
        if region.w < 8 or region.h < 8:
            return []
        patch = gray[region.y : region.y + region.h, region.x : region.x + region.w]
        # One scale for the whole frame keeps ROI searches and full scans consistent.
        scale = min(1.0, self.cfg.detect_width_px / w)
        if scale < 1.0:
            size = (max(1, round(region.w * scale)), max(1, round(region.h * scale)))
            patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        min_px = max(12, int(self.cfg.min_face_frac * h * scale))
        max_px = 0  # no limit
        if sizes is not None:
            min_px = max(min_px, int(sizes[0] * scale))
            max_px = max(min_px + 1, int(sizes[1] * scale))
        found = np.asarray(self._scan(patch, min_px, max_px)).reshape(-1, 4)
        if self.both_sides:  # the cascade knows one side: the other is its mirror image
            mirrored = np.asarray(self._scan(cv2.flip(patch, 1), min_px, max_px)).reshape(-1, 4).copy()
            mirrored[:, 0] = patch.shape[1] - mirrored[:, 0] - mirrored[:, 2]
            found = np.concatenate([found, mirrored])
        boxes = [
            FaceBox(
                region.x + round(x / scale),
                region.y + round(y / scale),
                round(bw / scale),
                round(bh / scale),
            )
            for (x, y, bw, bh) in found
        ]
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def _scan(self, patch: np.ndarray, min_px: int, max_px: int):
        return self._cascade.detectMultiScale(
            patch,
            scaleFactor=self.cfg.scale_factor,
            minNeighbors=self.cfg.min_neighbors,
            minSize=(min_px, min_px),
            maxSize=(max_px, max_px),
        )


class DriverFaceTracker:
    """Keeps the driver's face box from frame to frame.

    A full scan runs when there is no recent face or when ``full_scan_interval_s`` has passed
    (so a larger face entering is picked up); otherwise only the region around the last box is
    searched, for faces within ``roi_size_ratio`` of the last one's size, falling back to a full
    scan in the same frame when that misses. A box is held for
    ``hold_box_s`` across missed detections so a single miss does not drop the face.

    When a frame has no frontal face, ``turned`` (if given) looks for a turned one the same way:
    around the last turned face, with a full scan when the frontal face was just lost or at most
    every ``full_scan_interval_s``; the result is :attr:`turned_face`.

    Args:
        detector: The frontal face detector.
        detector_cfg: Search settings.
        face_cfg: Hold time.
        turned: Detector of turned faces (:meth:`HaarFaceDetector.turned`); None: not searched.
    """

    def __init__(
        self,
        detector: HaarFaceDetector,
        detector_cfg: DetectorConfig,
        face_cfg: FaceConfig,
        turned: HaarFaceDetector | None = None,
    ) -> None:
        self._dcfg = detector_cfg
        self._fcfg = face_cfg
        self._frontal = _Search(detector, detector_cfg)
        self._turned = _Search(turned, detector_cfg) if turned is not None else None
        self._frontal_before = False
        self.turned_face: FaceBox | None = None
        """The turned face found in the last frame (None when a frontal face was found)."""

    @property
    def full_scans(self) -> int:
        """Full-frame scans for a frontal face so far."""
        return self._frontal.full_scans

    @property
    def roi_scans(self) -> int:
        """Searches near the last frontal face so far."""
        return self._frontal.roi_scans

    @property
    def turned_scans(self) -> int:
        """Searches for a turned face so far (near the last one or the full frame)."""
        return self._turned.roi_scans + self._turned.full_scans if self._turned is not None else 0

    def update(
        self, gray: np.ndarray, now: float, bgr: np.ndarray | None = None
    ) -> tuple[FaceBox | None, bool]:
        """Find the driver's face in this frame.

        Args:
            gray: The grey frame.
            now: Frame time in seconds.
            bgr: The colour frame, for a detector that uses colour (BlazeFace); None: grey only.

        Returns:
            The face box (possibly held from an earlier frame) and whether it was detected in
            this frame.
        """
        front, interval = self._frontal, self._dcfg.full_scan_interval_s
        found = front.search(gray, now, roi=now - front.full_t < interval, full=True, bgr=bgr)
        frontal_before, self._frontal_before = self._frontal_before, found is not None
        self.turned_face = None
        if found is not None:
            return found, True
        if self._turned is not None:
            t = self._turned
            self.turned_face = t.search(
                gray,
                now,
                roi=now - t.seen_t <= interval,
                full=frontal_before or now - t.full_t >= interval,
            )
        if front.last is not None and now - front.seen_t <= self._fcfg.hold_box_s:
            return front.last, False
        front.last = None
        return None, False


class _Search:
    """One detector's search: near its last face, else the full frame; where and when it found."""

    def __init__(self, detector: HaarFaceDetector, cfg: DetectorConfig) -> None:
        self._detector = detector
        self._cfg = cfg
        self.last: FaceBox | None = None
        self.seen_t = float("-inf")
        self.full_t = float("-inf")
        self.full_scans = 0
        self.roi_scans = 0

    def search(
        self, gray: np.ndarray, now: float, roi: bool, full: bool, bgr: np.ndarray | None = None
    ) -> FaceBox | None:
        """The largest face: searched near :attr:`last` if ``roi`` (and there is one), then, if
        that found nothing, in the whole frame if ``full``."""
        if bgr is not None and getattr(self._detector, "colour", False):
            gray = bgr  # a colour detector (BlazeFace) gets the colour frame
        faces: list[FaceBox] = []
        if roi and self.last is not None:
            self.roi_scans += 1
            r = self._cfg.roi_size_ratio
            sizes = (self.last.w / r, self.last.w * r)
            faces = self._detector.detect(gray, self.last.expand(self._cfg.roi_margin), sizes)
        if not faces and full:
            self.full_scans += 1
            self.full_t = now
            faces = self._detector.detect(gray)
        if not faces:
            return None
        self.last, self.seen_t = faces[0], now
        return faces[0]


def build_detectors(detector_cfg: DetectorConfig, threads: int = 1):
    """The detectors of ``detector.kind``, built once: (frontal, turned or None).

    ``haar``: the frontal cascade and the turned-face cascade. ``blazeface``: BlazeFace alone (it
    finds faces in any pose, so there is no separate turned-face search).
    """
    if detector_cfg.kind == "blazeface":
        from edge_monitor.blazeface import MODEL_NAME, BlazeFaceDetector
        from edge_monitor.paths import thirdparty_model_path

        path = thirdparty_model_path(detector_cfg.model, MODEL_NAME)
        return BlazeFaceDetector(path, detector_cfg, threads), None
    return HaarFaceDetector(detector_cfg), HaarFaceDetector.turned(detector_cfg)


def build_face_tracker(
    detector_cfg: DetectorConfig, face_cfg: FaceConfig, threads: int = 1
) -> DriverFaceTracker:
    """The driver's face tracker as the daemon builds it, for ``detector.kind`` (:func:`build_detectors`)."""
    frontal, turned = build_detectors(detector_cfg, threads)
    return DriverFaceTracker(frontal, detector_cfg, face_cfg, turned)


def find_face(
    gray: np.ndarray, frontal: HaarFaceDetector, turned: HaarFaceDetector | None
) -> tuple[FaceBox | None, bool]:
    """One still image: the largest frontal face, else the largest turned face (datasets).

    Returns:
        The box (None: no face) and whether it is frontal.
    """
    faces = frontal.detect(gray)
    if faces:
        return faces[0], True
    faces = turned.detect(gray) if turned is not None else []
    return (faces[0], False) if faces else (None, False)
