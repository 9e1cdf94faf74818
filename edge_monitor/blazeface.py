"""BlazeFace short-range (MediaPipe's ``face_detection_short_range.tflite``), decoded in numpy.

The model takes a 128×128 RGB image scaled to [-1, 1] and scores 896 SSD anchors: a 16×16 grid
(stride 8) with 2 anchors per cell and an 8×8 grid (three layers of stride 16) with 6 per cell,
all of size 1 (MediaPipe's ``fixed_anchor_size``), centred on their cells. Each anchor regresses a
box (centre offset, width, height) and 6 keypoints (eyes, nose tip, mouth, ears) in input pixels.
Scores are logits (clipped to ±100, then a sigmoid); overlapping detections are merged by
MediaPipe's *weighted* non-maximum suppression: every box overlapping the best one by more than
``nms_iou`` is averaged into it, weighted by score.

The frame (or the search region around the last face) is letterboxed to a square, centred on
black, before the resize, so faces keep their shape. Found boxes are converted to the framing
of OpenCV's frontal Haar boxes (:data:`HAAR_FRAMING`), which the eye, mouth and emotion crops
are tuned to, so the two detectors are interchangeable behind :class:`edge_monitor.faces.DriverFaceTracker`.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from edge_monitor.config import DetectorConfig
from edge_monitor.errors import ModelMismatchError
from edge_monitor.inference import build_interpreter
from edge_monitor.types import FaceBox

MODEL_NAME = "face_detection_short_range.tflite"
INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
ANCHORS_PER_LAYER = 2  # aspect ratio 1 plus the interpolated scale, both 1×1 with a fixed size
KEYPOINTS = 6
SCORE_CLIP = 100.0

# BlazeFace boxes (square, brows to chin) mapped to Haar frontal-face framing: centre shift and size
# as fractions of the BlazeFace box's width. Medians over 496 frames where both detectors found the
# face (every 3rd frame of single_face, woman2 and Wolfgang, every 5th YawDD frame): dy -0.11 to
# -0.17 and scale 1.10-1.13 per source (the Haar box reaches higher, to the forehead).
HAAR_FRAMING = {"dx": 0.0, "dy": -0.13, "scale": 1.115}


def ssd_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """Anchor centres (x, y) in [0, 1] as MediaPipe's ``SsdAnchorsCalculator`` makes them.

    Consecutive layers with the same stride share one grid: each cell gets
    ``ANCHORS_PER_LAYER`` anchors per layer, cells in row-major order.

    Returns:
        (N, 2) float32; N = 896 for the short-range model's strides.
    """
    out = []
    i = 0
    while i < len(strides):
        stride, per_cell = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            per_cell += ANCHORS_PER_LAYER
            i += 1
        cells = math.ceil(input_size / stride)
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def decode(
    regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, keypoints and scores of the anchors scoring at least ``min_score``.

    Args:
        regressors: (N, 16) raw box and keypoint offsets in input pixels.
        logits: (N,) raw scores.
        anchors: (N, 2) anchor centres in [0, 1].
        min_score: Lowest sigmoid score kept.

    Returns:
        boxes (M, 4) as (x0, y0, x1, y1), keypoints (M, 6, 2), scores (M,), all in [0, 1] input
        coordinates.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = scores >= min_score
    reg, anc, scores = regressors[keep] / INPUT_SIZE, anchors[keep], scores[keep]
    cx, cy = reg[:, 0] + anc[:, 0], reg[:, 1] + anc[:, 1]
    w, h = reg[:, 2], reg[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keypoints = reg[:, 4 : 4 + 2 * KEYPOINTS].reshape(-1, KEYPOINTS, 2) + anc[:, None, :]
    return boxes, keypoints, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x0, y0, x1, y1) box with each of ``boxes``."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression.

    The best remaining detection and every remaining one overlapping it by more than
    ``iou_threshold`` form a cluster; the cluster becomes one detection whose box and keypoints
    are the score-weighted mean of its members and whose score is the best one's.

    Returns:
        (box, keypoints, score) per merged detection, best first.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    out = []
    remaining = np.arange(len(scores))
    while remaining.size:
        best = remaining[0]
        overlap = iou(boxes[best], boxes[remaining]) > iou_threshold
        members = remaining[overlap]
        weights = scores[members][:, None]
        total = float(weights.sum())
        box = (boxes[members] * weights).sum(axis=0) / total
        kps = (keypoints[members] * weights[:, :, None]).sum(axis=0) / total
        out.append((box, kps, float(scores[best])))
        remaining = remaining[~overlap]
    return out


class BlazeFaceDetector:
    """Face detection with BlazeFace short-range; the interpreter is built once.

    Same interface as :class:`edge_monitor.faces.HaarFaceDetector` (``detect(image, roi, sizes)``),
    so :class:`edge_monitor.faces.DriverFaceTracker` drives either. It wants colour: given a BGR
    frame it uses it, given a grey one it repeats the channel.

    Args:
        model_path: The ``.tflite`` file.
        cfg: Detector settings (``min_score``, ``nms_iou``, ``min_face_frac``).
        threads: Interpreter threads.
        strides: The SSD anchor layout (:func:`ssd_anchors`); the short-range model's by default.

    Raises:
        ModelNotFoundError: The file is missing (exit 31).
        ModelFormatError: It is not a TFLite model (exit 32).
        ModelMismatchError: Its input is not 128×128×3 float, or its outputs do not hold one box
            and one score per anchor of :func:`ssd_anchors` (exit 33).
    """

    colour = True  # DriverFaceTracker passes the BGR frame when it has one

    def __init__(
        self,
        model_path: str | Path,
        cfg: DetectorConfig,
        threads: int = 1,
        strides: tuple[int, ...] = STRIDES,
    ) -> None:
        self.path = Path(model_path)
        self.cfg = cfg
        self._interp = build_interpreter(self.path, threads)
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        want = (1, INPUT_SIZE, INPUT_SIZE, 3)
        got = tuple(int(v) for v in inputs[0]["shape"]) if len(inputs) == 1 else ()
        if got != want or inputs[0]["dtype"] != np.float32:
            raise ModelMismatchError(
                f"{self.path} takes {len(inputs)} input(s) {got}; BlazeFace short-range takes one {want}"
                f" float32 RGB image (use {MODEL_NAME} from scripts/fetch_models.py)"
            )
        self.anchors = ssd_anchors(INPUT_SIZE, strides)
        n = len(self.anchors)
        by_width = {int(o["shape"][-1]): o for o in outputs if len(o["shape"]) == 3}
        shapes = [tuple(int(v) for v in o["shape"]) for o in outputs]
        reg, cls = by_width.get(4 + 2 * KEYPOINTS), by_width.get(1)
        if reg is None or cls is None or int(reg["shape"][1]) != n or int(cls["shape"][1]) != n:
            raise ModelMismatchError(
                f"{self.path} outputs {shapes}; its anchors do not match: the short-range anchor"
                f" layout (strides {', '.join(map(str, strides))}) has {n} anchors, each with"
                f" {4 + 2 * KEYPOINTS} box/keypoint values and 1 score (use {MODEL_NAME})"
            )
        self._in = inputs[0]["index"]
        self._reg, self._cls = reg["index"], cls["index"]
        self._buf = np.zeros(want, np.float32)
        self.keypoints: list[np.ndarray] = []
        """The 6 keypoints (frame pixels) of each face of the last :meth:`detect`, in its order."""
        self._closed = False

    def _letterbox(self, patch: np.ndarray) -> tuple[float, float, float]:
        # The patch centred on a black square, resized to the input: one scale for both axes.
        h, w = patch.shape[:2]
        scale = INPUT_SIZE / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(patch, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
        else:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        ox, oy = (INPUT_SIZE - nw) // 2, (INPUT_SIZE - nh) // 2
        self._buf.fill(-1.0)  # black (the letterbox) is -1 in the model's [-1, 1] range
        self._buf[0, oy : oy + nh, ox : ox + nw] = small.astype(np.float32) * np.float32(2.0 / 255.0) - 1.0
        return scale, float(ox), float(oy)

    def faces(self, image: np.ndarray, roi: FaceBox | None = None) -> list[tuple[FaceBox, np.ndarray, float]]:
        """Every face in ``image`` (or in ``roi``): raw BlazeFace box, keypoints (6, 2) and score,
        in frame pixels, best score first."""
        h, w = image.shape[:2]
        region = FaceBox(0, 0, w, h) if roi is None else roi.clip(w, h)
        if region.w < 8 or region.h < 8:
            return []
        patch = image[region.y : region.y + region.h, region.x : region.x + region.w]
        scale, ox, oy = self._letterbox(patch)
        self._interp.set_tensor(self._in, self._buf)
        self._interp.invoke()
        reg = self._interp.get_tensor(self._reg)[0]
        logits = self._interp.get_tensor(self._cls)[0, :, 0]
        boxes, kps, scores = decode(reg, logits, self.anchors, self.cfg.min_score)
        out = []
        for box, kp, score in weighted_nms(boxes, kps, scores, self.cfg.nms_iou):
            # Input [0, 1] → letterboxed pixels → region pixels → frame pixels.
            px = box * INPUT_SIZE
            x0 = region.x + (px[0] - ox) / scale
            y0 = region.y + (px[1] - oy) / scale
            x1 = region.x + (px[2] - ox) / scale
            y1 = region.y + (px[3] - oy) / scale
            kp_frame = np.stack(
                [
                    region.x + (kp[:, 0] * INPUT_SIZE - ox) / scale,
                    region.y + (kp[:, 1] * INPUT_SIZE - oy) / scale,
                ],
                axis=1,
            )
            raw = FaceBox(round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
            out.append((raw, kp_frame.astype(np.float32), score))
        return out

    def detect(
        self, image: np.ndarray, roi: FaceBox | None = None, sizes: tuple[float, float] | None = None
    ) -> list[FaceBox]:
        """Faces in Haar framing (:func:`haar_framed`), in frame pixels, largest first.

        Args:
            image: The BGR (preferred) or grey frame.
            roi: Search only inside this region (None: the whole frame).
            sizes: Smallest and largest face width to keep, in frame pixels (None: from
                ``min_face_frac`` of the frame height up).
        """
        h = image.shape[0]
        lo, hi = self.cfg.min_face_frac * h, math.inf
        if sizes is not None:
            lo, hi = max(lo, sizes[0]), sizes[1]
        found = []
        for raw, kp, _ in self.faces(image, roi):
            box = haar_framed(raw)
            if lo <= box.w <= hi:
                found.append((box, kp))
        found.sort(key=lambda f: f[0].area, reverse=True)
        self.keypoints = [kp for _, kp in found]
        return [box for box, _ in found]

    def close(self) -> None:
        """Release the interpreter (idempotent)."""
        if not self._closed:
            self._closed = True
            self._interp = None


def haar_framed(raw: FaceBox) -> FaceBox:
    """A BlazeFace box in the framing of a Haar frontal-face box (:data:`HAAR_FRAMING`), square."""
    cx, cy = raw.center
    side = raw.w * HAAR_FRAMING["scale"]
    cx += HAAR_FRAMING["dx"] * raw.w
    cy += HAAR_FRAMING["dy"] * raw.w
    return FaceBox(round(cx - side / 2), round(cy - side / 2), max(1, round(side)), max(1, round(side)))
