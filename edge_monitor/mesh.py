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
# Contours drawn on the annotated video (closed loops, in drawing order round each outline).
EYE_CONTOURS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
)
INNER_LIP_CONTOUR = (
    78,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
    415,
    310,
    311,
    312,
    13,
    82,
    81,
    80,
    191,
)
OUTER_LIP_CONTOUR = (
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    409,
    270,
    269,
    267,
    0,
    37,
    39,
    40,
    185,
)


def distance(points: np.ndarray, a: int, b: int) -> float:
    """Distance in pixels between mesh points ``a`` and ``b`` of ``points`` (468, 2+)."""
    return float(np.hypot(*(points[a, :2] - points[b, :2])))


def eye_span(points: np.ndarray) -> float:
    """Distance between the two outer eye corners: the face's scale in the frame."""
    return distance(points, LEFT_EYE[0], RIGHT_EYE[0])
