"""Every crop the models see, and its preprocessing, shared function for function by training and the device.

* the face crop (:func:`face_pixels`) for the emotion model;
* eye squares and the mouth region placed inside a face box (:func:`eye_boxes`, :func:`mouth_box`,
  :func:`mouth_pixels`) when there are no landmarks;
* eye and mouth patches centred on the face landmarks (:func:`eye_patches`, :func:`mouth_patch`),
  and the eye squares of the sunglasses check (:func:`landmark_eye_boxes`).

``conversion`` imports these functions, so a face seen by the camera reaches the model as
exactly the tensor a training image of the same face would have been.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from edge_monitor import mesh
from edge_monitor.errors import ModelFormatError
from edge_monitor.metadata import ModelMetadata
from edge_monitor.types import FaceBox


def normalize(pixels: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """Map 8-bit grey pixels to the model's float input range (after :func:`contrast`).

    Args:
        pixels: uint8 array of any shape.
        meta: Metadata giving ``scale`` and ``offset``.

    Returns:
        float32 array ``pixels * scale + offset`` of the same shape.
    """
    return pixels.astype(np.float32) * np.float32(meta.scale) + np.float32(meta.offset)


def contrast(pixels: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """The model's contrast normalisation (``meta.contrast``) of model-sized uint8 crops.

    Args:
        pixels: uint8 images (H, W) or (N, H, W) already at the model's input size.
        meta: Metadata naming the contrast normalisation.
    """
    return meta.contrast.apply(pixels)


def resize_to(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a grey image, with area averaging when shrinking (no aliasing)."""
    if gray.shape[1] == width and gray.shape[0] == height:
        return gray
    shrinking = gray.shape[1] > width
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, height), interpolation=interp)


def crop(gray: np.ndarray, box: FaceBox) -> np.ndarray:
    """Cut ``box`` out of a grey frame, clipped to the frame (a view, not a copy)."""
    b = box.clip(gray.shape[1], gray.shape[0])
    return gray[b.y : b.y + b.h, b.x : b.x + b.w]


def face_pixels(gray: np.ndarray, box: FaceBox, meta: ModelMetadata) -> np.ndarray:
    """The face resized to the model's input size, uint8 (input_height x input_width).

    Contrast normalisation is not applied here: :func:`model_input` and
    :meth:`edge_monitor.inference.TfliteClassifier.predict_pixels` apply it.
    """
    return resize_to(crop(gray, box), meta.input_width, meta.input_height)


def model_input(pixels: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """Batch of model inputs (N, H, W, 1) float32 from model-sized uint8 images (N, H, W) or (H, W):
    :func:`contrast`, then :func:`normalize`."""
    if pixels.ndim == 2:
        pixels = pixels[None]
    return normalize(contrast(pixels, meta), meta)[..., None]


# --- Crops placed inside a face box (no landmarks), as the shipped eye and yawn models were trained ---

# Eye-square geometry as fractions of a Haar frontal-face box (haarcascade_frontalface_default),
# measured on the Wolfgang clip's Haar boxes (benchmarks/eye_locator.py): haarcascade_eye puts the
# eyes at x ≈ 0.29 / 0.69 (head turned a little; 0.30 / 0.70 symmetric) and y ≈ 0.39-0.41, its
# boxes reaching up to the brow; the lid line sits at y ≈ 0.42, where the crops look like CEW
# patches (eye centred, brow at the top edge). Side 0.28: the eye spans about 70 % of the crop as
# in CEW. The clip's open/closed frames confirm the plateau: AUC of P(closed) 0.997-1.000 at
# y 0.42 for every x 0.28-0.32 and side 0.20-0.36 (the model trains with ±15 % zoom), 0.92-0.996
# at y 0.36-0.40.
EYE_CENTER_X_FRAC = 0.30
EYE_CENTER_Y_FRAC = 0.42
EYE_SIZE_FRAC = 0.28
MIN_EYE_PX = 8  # an eye square smaller than this (in the frame) carries no eye state
MIN_EYE_INSIDE = 0.75  # share of an eye square that must lie inside the frame


def eye_boxes(
    face: FaceBox,
    center_x_frac: float = EYE_CENTER_X_FRAC,
    center_y_frac: float = EYE_CENTER_Y_FRAC,
    size_frac: float = EYE_SIZE_FRAC,
) -> tuple[FaceBox, FaceBox]:
    """The two eye squares of a frontal face box, image-left first (the driver's right eye).

    Args:
        face: The Haar face box.
        center_x_frac: Centre of the image-left eye from the box's left edge, as a fraction of
            its width; the other eye mirrors it (``1 - center_x_frac``).
        center_y_frac: Eye centres from the box's top edge, as a fraction of its height.
        size_frac: Side of each square as a fraction of the box width.

    Returns:
        (image-left eye, image-right eye), squares of equal size inside ``face``.
    """
    side = max(1, round(size_frac * face.w))
    cy = face.y + center_y_frac * face.h
    boxes = []
    for fx in (center_x_frac, 1.0 - center_x_frac):
        cx = face.x + fx * face.w
        boxes.append(FaceBox(round(cx - side / 2.0), round(cy - side / 2.0), side, side))
    return boxes[0], boxes[1]


def usable(
    box: FaceBox, width: int, height: int, min_px: int = MIN_EYE_PX, min_inside: float = MIN_EYE_INSIDE
) -> bool:
    """Whether a crop box lies mostly inside the frame and is big enough to read.

    Args:
        box: The eye square or mouth region, in frame pixels.
        width: Frame width.
        height: Frame height.
        min_px: Smallest side (inside the frame) that still carries a state.
        min_inside: Share of the box that must lie inside the frame.
    """
    inside = box.clip(width, height)
    return inside.w >= min_px and inside.h >= min_px and inside.area >= min_inside * max(1, box.area)


MIN_MOUTH_PX = 12  # a mouth region narrower or shorter than this (in the frame) carries no mouth shape
MIN_MOUTH_INSIDE = 0.6  # share of the mouth region that must lie inside the frame


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


def mouth_pixels(
    gray: np.ndarray, face: FaceBox, size: tuple[int, int], region: MouthRegion = MOUTH_REGION
) -> np.ndarray | None:
    """The mouth crop at the model's input ``size`` (width, height), uint8; None if unusable.

    The one function training and the device share: the region clipped to the frame, resized
    with area averaging.
    """
    box = mouth_box(face, region)
    if not usable(box, gray.shape[1], gray.shape[0], MIN_MOUTH_PX, MIN_MOUTH_INSIDE):
        return None
    return resize_to(crop(gray, box), size[0], size[1])


# --- Landmark-centred crops ---

# Landmark-centred crops (face-mesh points in frame pixels, see ``edge_monitor.landmarks``), framed
# like the Haar-box crops the shipped models were trained with. Eye square: side 1.7 eye widths
# (corner to corner; the Haar squares measure 1.67-1.75 on the Wolfgang clip's open-eye frames and
# 196 YawDD frames, the eye spanning ~60 % of the patch as in CEW), centred 0.12 eye widths above the
# corners' midpoint (the lid opening's middle): on the Wolfgang clip's pseudo-labelled frames (the clip
# the Haar fractions were chosen on) the AUC of P(closed) is 0.99 at 0.10-0.15 above, 0.91-0.94 at
# 0-0.05 below. Mouth region: centred on the mouth corners' midpoint, 1.3 x 1.1 outer-eye-corner
# distances (the Haar region measures 1.25-1.34 x 1.07-1.15). Both are levelled along the eye line,
# so a tilted head gives an upright patch.
EYE_PATCH_SIDE = 1.7  # eye square side over the eye's corner-to-corner width
EYE_PATCH_UP = 0.12  # its centre above the corners' midpoint, in eye widths
EYE_PATCH_MIN_SIDE = 0.4  # ...but at least this fraction of the outer-eye-corner distance (turned heads)
MOUTH_PATCH_WIDTH = 1.3  # mouth region width over the outer-eye-corner distance
MOUTH_PATCH_HEIGHT = 1.1  # its height, same unit
MOUTH_PATCH_DOWN = 0.02  # its centre below the mouth corners' midpoint, same unit
MIN_PATCH_PX = (8, 12)  # smallest eye / mouth region in frame pixels that still carries a state
MIN_PATCH_INSIDE = 0.75  # share of a region that must lie inside the frame


def eye_line_angle(points: np.ndarray) -> float:
    """Angle in radians of the line from the image-left to the image-right outer eye corner
    (image axes, clockwise positive); 0 for an upright face."""
    dx, dy = points[mesh.RIGHT_EYE[0], :2] - points[mesh.LEFT_EYE[0], :2]
    return float(np.arctan2(dy, dx))


def _inside_frac(gray: np.ndarray, cx: float, cy: float, w: float, h: float) -> float:
    b = FaceBox(round(cx - w / 2), round(cy - h / 2), max(1, round(w)), max(1, round(h)))
    return b.clip(gray.shape[1], gray.shape[0]).area / max(1, b.area)


def levelled_patch(
    gray: np.ndarray,
    center: tuple[float, float],
    width: float,
    height: float,
    angle: float,
    size: tuple[int, int],
) -> np.ndarray:
    """The ``width`` x ``height`` rectangle centred on ``center`` and rotated by ``angle`` (radians,
    image axes), turned upright and resized to ``size`` (width, height) as :func:`resize_to` does.

    The rotation runs at the frame's own scale (outside the frame is black); the shrink to the
    model's size is the area-averaged :func:`resize_to` of every other crop.
    """
    out_w, out_h = max(1, round(width)), max(1, round(height))
    c, s = np.cos(angle), np.sin(angle)
    cx, cy = center
    # Maps the upright patch's pixel (u, v) to the frame: centre + R(angle) (u - w/2, v - h/2).
    to_frame = np.array(
        [[c, -s, cx - c * out_w / 2 + s * out_h / 2], [s, c, cy - s * out_w / 2 - c * out_h / 2]]
    )
    patch = cv2.warpAffine(
        gray, to_frame, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0
    )
    return resize_to(patch, size[0], size[1])


def eye_regions(points: np.ndarray) -> list[tuple[float, float, float]]:
    """(centre x, centre y, side) of the image-left and image-right eye squares, from the landmarks."""
    angle = eye_line_angle(points)
    floor = EYE_PATCH_MIN_SIDE * mesh.eye_span(points)
    out = []
    for eye in (mesh.LEFT_EYE, mesh.RIGHT_EYE):
        a, b = points[eye[0], :2], points[eye[3], :2]
        width = mesh.distance(points, eye[0], eye[3])
        down = -EYE_PATCH_UP * width
        cx, cy = (a + b) / 2.0
        out.append((cx - np.sin(angle) * down, cy + np.cos(angle) * down, max(EYE_PATCH_SIDE * width, floor)))
    return out


def eye_patches(gray: np.ndarray, points: np.ndarray, size: tuple[int, int] = (24, 24)) -> list[np.ndarray]:
    """CEW-like grey eye patches centred on the landmarks, image-left eye first.

    Args:
        gray: The grey frame.
        points: Face-mesh landmarks in frame pixels, (468, 2+).
        size: Patch (width, height): the eye model's input.

    Returns:
        The usable patches (big enough, mostly inside the frame), uint8; possibly fewer than two.
    """
    angle = eye_line_angle(points)
    return [
        levelled_patch(gray, (cx, cy), side, side, angle, size)
        for cx, cy, side in eye_regions(points)
        if side >= MIN_PATCH_PX[0] and _inside_frac(gray, cx, cy, side, side) >= MIN_PATCH_INSIDE
    ]


def mouth_region(points: np.ndarray) -> tuple[float, float, float, float]:
    """(centre x, centre y, width, height) of the mouth region, from the landmarks."""
    angle = eye_line_angle(points)
    scale = mesh.eye_span(points)
    cx, cy = (points[mesh.MOUTH_CORNERS[0], :2] + points[mesh.MOUTH_CORNERS[1], :2]) / 2.0
    down = MOUTH_PATCH_DOWN * scale
    return (
        float(cx - np.sin(angle) * down),
        float(cy + np.cos(angle) * down),
        MOUTH_PATCH_WIDTH * scale,
        MOUTH_PATCH_HEIGHT * scale,
    )


def mouth_patch(gray: np.ndarray, points: np.ndarray, size: tuple[int, int] = (32, 32)) -> np.ndarray | None:
    """The grey mouth patch centred on the landmarks at ``size`` (width, height); None if unusable."""
    cx, cy, w, h = mouth_region(points)
    if min(w, h) < MIN_PATCH_PX[1] or _inside_frac(gray, cx, cy, w, h) < MIN_PATCH_INSIDE:
        return None
    return levelled_patch(gray, (cx, cy), w, h, eye_line_angle(points), size)


def landmark_eye_boxes(points: np.ndarray) -> tuple[FaceBox, FaceBox]:
    """Squares centred on each eye's corners, one eye width on a side, image-left eye first.

    Args:
        points: (468, 2) landmark positions in frame pixels (MediaPipe mesh order).
    """
    boxes = []
    for eye in (mesh.LEFT_EYE, mesh.RIGHT_EYE):
        a, b = eye[0], eye[3]  # the outer and inner corners
        side = max(1.0, mesh.distance(points, a, b))
        cx, cy = (points[a, :2] + points[b, :2]) / 2.0
        boxes.append(FaceBox(round(cx - side / 2.0), round(cy - side / 2.0), round(side), round(side)))
    return boxes[0], boxes[1]
