"""Indices into MediaPipe's 468-point face mesh used by edge-monitor, and distances between them.

The image-left eye is the driver's right eye (a camera facing the driver, image not mirrored).
"""

from __future__ import annotations

import numpy as np

POINTS = 468
# Eye-aspect-ratio order: p1 outer corner, p2/p3 upper lid, p4 inner corner, p5/p6 lower lid;
# the lid pairs are p2-p6 and p3-p5.
LEFT_EYE = (33, 160, 158, 133, 153, 144)
RIGHT_EYE = (263, 387, 385, 362, 380, 373)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = ((82, 87), (13, 14), (312, 317))  # upper / lower inner-lip pairs, left to right
NOSE_TIP = 1
CHIN = 152
# Contours drawn on the annotated video (closed loops).
LEFT_EYE_CONTOUR = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
RIGHT_EYE_CONTOUR = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
INNER_LIP_CONTOUR = (
    78,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    308,
    324,
    318,
    402,
    317,
    14,
    87,
    178,
    88,
    95,
)


def distance(points: np.ndarray, a: int, b: int) -> float:
    """Distance in pixels between mesh points ``a`` and ``b`` of ``points`` (468, 2+)."""
    return float(np.hypot(*(points[a, :2] - points[b, :2])))


def eye_span(points: np.ndarray) -> float:
    """Distance between the two outer eye corners: the face's scale in the frame."""
    return distance(points, LEFT_EYE[0], RIGHT_EYE[0])
