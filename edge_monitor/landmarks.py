"""Face landmarks (MediaPipe's 468-point face mesh) on the driver's face box, and what they tell.

:class:`FaceLandmarker` runs ``face_landmark.tflite`` (fetched by ``scripts/fetch_models.py``):
a square crop of the face box grown by ``landmarks.margin`` per side (MediaPipe grows the
detection 1.5×, i.e. 25 % per side), turned upright by the last frame's eye-line angle (as
MediaPipe's tracking does: at 45° of roll an unturned crop misplaces the points by ~12 px on a
195 px face, a turned one by 0.05 px), is warped to the model's 192×192 RGB input, scaled to
[0, 1] as MediaPipe's face-mesh graph does, and the 468 (x, y, z) points come back in crop pixels;
they are mapped to full-frame pixels. The second output is a face-presence logit: a false
detection or a hand over most of the face scores low.

From the points, :func:`face_geometry` computes the scale-free values of
:class:`edge_monitor.types.FaceGeometry`:

- eye aspect ratio per eye (Soukupová & Čech 2016): the two lid openings over the eye width, on
  the mesh points of :mod:`edge_monitor.mesh` (image-left / image-right eye);
- ``mouth_open``: the mean of three inner-lip openings over the mouth width (corner to corner);
- ``mouth_width``: the mouth width over the outer-eye-corner distance;
- head pose by ``cv2.solvePnP`` of six stable points against a generic 3D face
  (:data:`FACE_3D`), with a pinhole camera whose focal length is the frame width.

Head-pose sign conventions (a camera facing the driver, image not mirrored; degrees):

- ``yaw_deg`` > 0: the face points toward the image's right, i.e. the driver turns to *their*
  left; < 0 toward the image's left.
- ``pitch_deg`` > 0: the face points up (chin up); < 0 down (looking at the lap or a phone).
- ``roll_deg`` > 0: the head tilts clockwise in the image (the image-right eye lower).

All three are 0 for a face looking straight into the camera. They are the angles of the face's
forward axis and eye line in the camera's frame, so an off-axis camera shows a constant offset
(which per-driver calibration removes).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from edge_monitor import mesh
from edge_monitor.config import Config, LandmarksConfig
from edge_monitor.errors import ModelMismatchError
from edge_monitor.inference import build_interpreter
from edge_monitor.mesh import CHIN, INNER_LIPS, LEFT_EYE, MOUTH_CORNERS, NOSE_TIP, POINTS, RIGHT_EYE
from edge_monitor.paths import thirdparty_model_path
from edge_monitor.types import FaceBox, FaceGeometry

MODEL_NAME = "face_landmark.tflite"
VALUES = POINTS * 3  # 1,404 outputs: x, y, z per point

# A generic 3D face (millimetres; camera-like axes: x to the image's right, y down, z away from
# the camera; nose tip at the origin), the widely used six-point anthropometric model. Only
# stable points: eye corners, nose tip, chin, mouth corners (lids and lips move).
POSE_POINTS = (NOSE_TIP, CHIN, LEFT_EYE[0], RIGHT_EYE[0], MOUTH_CORNERS[0], MOUTH_CORNERS[1])
FACE_3D = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip
        (0.0, 330.0, 65.0),  # chin
        (-225.0, -170.0, 135.0),  # image-left eye, outer corner
        (225.0, -170.0, 135.0),  # image-right eye, outer corner
        (-150.0, 150.0, 125.0),  # image-left mouth corner
        (150.0, 150.0, 125.0),  # image-right mouth corner
    ],
    dtype=np.float64,
)


def eye_aspect_ratio(points: np.ndarray, eye: tuple[int, ...]) -> float:
    """EAR of one eye: (|p2-p6| + |p3-p5|) / (2 |p1-p4|); about 0.25-0.35 open, under 0.15 closed."""
    p1, p2, p3, p4, p5, p6 = eye
    width = mesh.distance(points, p1, p4)
    return (
        (mesh.distance(points, p2, p6) + mesh.distance(points, p3, p5)) / (2.0 * width) if width > 0 else 0.0
    )


def mouth_ratios(points: np.ndarray) -> tuple[float, float]:
    """(inner-lip opening over mouth width, mouth width over outer-eye-corner distance)."""
    width = mesh.distance(points, *MOUTH_CORNERS)
    eyes = mesh.eye_span(points)
    opening = float(np.mean([mesh.distance(points, a, b) for a, b in INNER_LIPS]))
    return (opening / width if width > 0 else 0.0, width / eyes if eyes > 0 else 0.0)


def head_pose(points: np.ndarray, frame_size: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees by ``cv2.solvePnP`` against :data:`FACE_3D`.

    Args:
        points: Landmarks in frame pixels, (468, 2+).
        frame_size: (width, height) of the frame: the assumed camera has focal length = width and
            its principal point at the centre, without distortion.

    Returns:
        Angles with the module's sign conventions; (nan, nan, nan) if the solver fails.
    """
    w, h = frame_size
    camera = np.array([[w, 0.0, w / 2.0], [0.0, w, h / 2.0], [0.0, 0.0, 1.0]])
    image = np.ascontiguousarray(points[list(POSE_POINTS), :2], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(FACE_3D, image, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return (math.nan, math.nan, math.nan)
    rot, _ = cv2.Rodrigues(rvec)
    forward = -rot[:, 2]  # the model's -z (out of the face) in camera axes: (0, 0, -1) when frontal
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    across = rot[:, 0]  # image-left eye → image-right eye
    roll = math.degrees(math.atan2(across[1], across[0]))
    return (yaw, pitch, roll)


def face_geometry(points: np.ndarray, presence: float, frame_size: tuple[int, int]) -> FaceGeometry:
    """All of :class:`FaceGeometry` from landmarks in frame pixels."""
    mouth_open, mouth_width = mouth_ratios(points)
    yaw, pitch, roll = head_pose(points, frame_size)
    return FaceGeometry(
        points=np.ascontiguousarray(points[:, :2], dtype=np.float32),
        presence=float(presence),
        ear_left=eye_aspect_ratio(points, LEFT_EYE),
        ear_right=eye_aspect_ratio(points, RIGHT_EYE),
        mouth_open=mouth_open,
        mouth_width=mouth_width,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
    )


def landmark_roi(box: FaceBox, margin: float) -> tuple[float, float, float]:
    """The square the landmark model sees: (centre x, centre y, side), the box's longer side
    grown by ``margin`` of it on every side (not clipped: the outside is black, as MediaPipe)."""
    cx, cy = box.center
    return cx, cy, max(box.w, box.h) * (1.0 + 2.0 * margin)


class FaceLandmarker:
    """``face_landmark.tflite`` run on a face box; the interpreter is built once.

    Args:
        model_path: The ``.tflite`` file.
        margin: Crop margin per side as a fraction of the face box's size.
        min_presence: Landmarks with a lower face score are rejected (:meth:`geometry` → None).
        threads: Interpreter threads.

    Raises:
        ModelNotFoundError: The file is missing (exit 31).
        ModelFormatError: It is not a TFLite model (exit 32).
        ModelMismatchError: Its input is not one 192×192×3 float image, or it has no output of
            1,404 values (468 points × 3) beside a one-value face score (exit 33).
    """

    def __init__(
        self, model_path: str | Path, margin: float = 0.25, min_presence: float = 0.5, threads: int = 1
    ) -> None:
        self.path = Path(model_path)
        self.margin = margin
        self.min_presence = min_presence
        self._interp = build_interpreter(self.path, threads)
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        shape = tuple(int(v) for v in inputs[0]["shape"]) if len(inputs) == 1 else ()
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or inputs[0]["dtype"] != np.float32:
            raise ModelMismatchError(
                f"{self.path} takes {len(inputs)} input(s) {shape}; a face-landmark model takes one"
                f" (1, H, W, 3) float32 RGB image (use {MODEL_NAME} from scripts/fetch_models.py)"
            )
        self.size = shape[1]
        sizes = {int(np.prod(o["shape"])): o for o in outputs}
        if VALUES not in sizes or 1 not in sizes:
            found = ", ".join(f"{int(np.prod(o['shape'])):,}" for o in outputs)
            raise ModelMismatchError(
                f"{self.path} outputs {found} values; a face-landmark model outputs {VALUES:,}"
                f" ({POINTS} points x 3) and a face score (use {MODEL_NAME} from scripts/fetch_models.py)"
            )
        self._in = inputs[0]["index"]
        self._points = sizes[VALUES]["index"]
        self._score = sizes[1]["index"]
        self._closed = False

    def run(self, bgr: np.ndarray, box: FaceBox, angle: float = 0.0) -> tuple[np.ndarray, float]:
        """Landmarks of the face in ``box``: (468, 3) float32 in frame pixels (z at the same scale,
        relative to the face's centre) and the presence score in [0, 1].

        Args:
            bgr: The colour frame.
            box: The face box.
            angle: Roll of the face in radians (image axes, clockwise positive): the crop is
                rotated by it so the model sees an upright face, as MediaPipe rotates its region
                of interest by the eye line (:func:`edge_monitor.crops.eye_line_angle` of the last frame's points).
        """
        cx, cy, side = landmark_roi(box, self.margin)
        s = self.size / side
        c, si = math.cos(angle), math.sin(angle)
        half = self.size / 2.0
        # One affine warp rotates, crops, scales and pads (black outside the frame): crop pixel
        # = s R(-angle) (frame pixel - centre) + half.
        warp = np.array(
            [[s * c, s * si, half - s * (c * cx + si * cy)], [-s * si, s * c, half - s * (-si * cx + c * cy)]]
        )
        crop = cv2.warpAffine(bgr, warp, (self.size, self.size), flags=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        self._interp.set_tensor(self._in, (rgb.astype(np.float32) * np.float32(1.0 / 255.0))[None])
        self._interp.invoke()
        raw = self._interp.get_tensor(self._points).reshape(POINTS, 3)
        logit = float(self._interp.get_tensor(self._score).reshape(-1)[0])
        u, v = (raw[:, 0] - half) / s, (raw[:, 1] - half) / s
        points = np.empty_like(raw)
        points[:, 0] = cx + c * u - si * v
        points[:, 1] = cy + si * u + c * v
        points[:, 2] = raw[:, 2] / s
        return points, 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def geometry(self, bgr: np.ndarray, box: FaceBox, angle: float = 0.0) -> FaceGeometry | None:
        """The face geometry in ``box`` (crop rotated by ``angle``, see :meth:`run`), or None when
        the face score is under ``min_presence``."""
        points, presence = self.run(bgr, box, angle)
        if presence < self.min_presence:
            return None
        return face_geometry(points, presence, (bgr.shape[1], bgr.shape[0]))

    def close(self) -> None:
        """Release the interpreter (idempotent)."""
        if not self._closed:
            self._closed = True
            self._interp = None


def load_landmarker(cfg: Config, threads: int | None = None) -> FaceLandmarker | None:
    """The landmark stage of a config (``landmarks``), or None when ``landmarks.enabled`` is off.

    ``threads`` overrides ``models.threads`` (benchmarks).
    """
    lcfg: LandmarksConfig = cfg.landmarks
    if not lcfg.enabled:
        return None
    path = thirdparty_model_path(lcfg.model, MODEL_NAME)
    threads = cfg.models.threads if threads is None else threads
    return FaceLandmarker(path, lcfg.margin, lcfg.min_presence, threads=threads)
