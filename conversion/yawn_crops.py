"""Mouth crops for the yawn model, cut as the device cuts them with a landmark model, and the frames
prepared for training (:func:`prepare`: faces, split, landmarks, crops).

The faces are found by the device's default detector, the face landmarks are computed on each box,
and the mouth crop is :func:`edge_monitor.crops.mouth_patch` of them; training crops come from
jittered landmarks (the landmark model's frame-to-frame wobble), and FER2013 faces go through the
landmark model too.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from conversion.yawn_data import DEFAULT_FRACTIONS, YawnFrames, find_faces, read_frames, split_by_group
from edge_monitor import mesh
from edge_monitor.config import load_config
from edge_monitor.crops import mouth_patch
from edge_monitor.types import FaceBox


def face_points(images: list[np.ndarray], faces: list[FaceBox | None], landmarker) -> list[np.ndarray | None]:
    """The face-mesh landmarks (468, 2) of every frame's face box, as the device computes them;
    None without a box, or where the landmark model rejects it (face score under its minimum)."""
    out: list[np.ndarray | None] = []
    for img, face in zip(images, faces, strict=True):
        if face is None:
            out.append(None)
            continue
        bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img
        g = landmarker.geometry(bgr, face)
        out.append(None if g is None else g.points)
    return out


def jitter_points(points: np.ndarray, rng: np.random.Generator, shift: float, scale: float) -> np.ndarray:
    """``points`` scaled about their centre by up to ``1 ± scale`` and moved by up to ``shift`` of the
    outer-eye-corner distance: the landmark model's frame-to-frame wobble, for training crops."""
    centre = points.mean(axis=0)
    eyes = float(np.hypot(*(points[mesh.RIGHT_EYE[0]] - points[mesh.LEFT_EYE[0]])))
    move = rng.uniform(-shift, shift, 2) * eyes
    return ((points - centre) * (1.0 + rng.uniform(-scale, scale)) + centre + move).astype(np.float32)


def landmark_mouth_crops(
    images: list[np.ndarray],
    points: list[np.ndarray | None],
    rows: np.ndarray,
    size: tuple[int, int],
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The device's landmark-centred mouth crops of the frames ``rows`` that have landmarks, plus
    ``jitter`` crops each from jittered landmarks (training only).

    Returns:
        Crops (M, H, W) uint8, the frame row of each crop (M,) and whether it is the frame's
        own (unjittered) crop (M,).
    """
    rng = np.random.default_rng(seed)
    xs, src, own = [], [], []
    for r in rows:
        if points[r] is None:
            continue
        variants = [points[r]] + [jitter_points(points[r], rng, shift, scale) for _ in range(jitter)]
        for i, v in enumerate(variants):
            pixels = mouth_patch(images[r], v, size)
            if pixels is not None:
                xs.append(pixels)
                src.append(r)
                own.append(i == 0)
    w, h = size
    x = np.stack(xs) if xs else np.zeros((0, h, w), np.uint8)
    return x, np.asarray(src, np.int64), np.asarray(own, bool)


def fer_landmark_mouth_crops(
    faces: np.ndarray,
    size: tuple[int, int],
    landmarker,
    jitter: int = 0,
    shift: float = 0.0,
    scale: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Landmark-centred mouth crops of aligned 48×48 FER faces (the image is the face box; padded
    by repeating the edge so the landmark crop's margin sees a face-like surround)."""
    pad = 24
    padded = [cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REPLICATE) for f in faces]
    pts = face_points(padded, [FaceBox(pad, pad, 48, 48)] * len(padded), landmarker)
    x, _, _ = landmark_mouth_crops(padded, pts, np.arange(len(padded)), size, jitter, shift, scale, seed)
    return x


@dataclass
class Prepared:
    """The frames with their faces, landmarks, split and mouth crops (``(x, frame row, own)`` per split)."""

    frames: YawnFrames
    images: list[np.ndarray]
    faces: list
    frontal: list[bool]
    idx: dict[str, np.ndarray]
    crops: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    landmarker: Any
    detect_seconds: float

    def sizes(self) -> dict[str, dict[str, int]]:
        """Frames, groups, yawns, faces (turned) and faceless frames per split."""
        return {k: _sizes(self, v) for k, v in self.idx.items()}


def _sizes(data: Prepared, rows: np.ndarray) -> dict[str, int]:
    with_face = np.array([data.faces[r] is not None for r in rows], bool)
    turned = np.array([data.faces[r] is not None and not data.frontal[r] for r in rows], bool)
    y = data.frames.y[rows]
    return {
        "frames": len(rows),
        "groups": len(np.unique(data.frames.group[rows])),
        "yawn": int(y.sum()),
        "with_face": int(with_face.sum()),
        "turned": int(turned.sum()),
        "faceless": int((~with_face).sum()),
        "faceless_yawn": int(((~with_face) & (y == 1)).sum()),
    }


def prepare(frames: YawnFrames, args: argparse.Namespace, size: tuple[int, int]) -> Prepared:
    """Read the frames, find the faces (the device's default detector, any pose), split by group,
    compute the landmarks and cut the mouth crops (``--jitter`` extra ones per training frame)."""
    from edge_monitor.faces import build_detectors
    from edge_monitor.landmarks import load_landmarker

    images = read_frames(frames)
    t0 = time.monotonic()
    faces, frontal = find_faces(images, *build_detectors(load_config().detector))
    detect_seconds = time.monotonic() - t0
    faceless = sum(f is None for f in faces)
    turned = sum(f is not None and not fr for f, fr in zip(faces, frontal, strict=True))
    print(f"{len(frames)} frames: a turned face in {turned}, no face in {faceless} ({detect_seconds:.0f} s)")
    idx = split_by_group(frames.group, frames.y, DEFAULT_FRACTIONS, args.seed)
    landmarker = load_landmarker(load_config())
    t0 = time.monotonic()
    points = face_points(images, faces, landmarker)
    rejected = sum(f is not None and p is None for f, p in zip(faces, points, strict=True))
    print(f"landmarks on {len(frames) - faceless} faces, {rejected} rejected ({time.monotonic() - t0:.0f} s)")
    crops = {
        name: landmark_mouth_crops(
            images,
            points,
            rows,
            size,
            args.jitter if name == "train" else 0,
            args.box_shift,
            args.box_scale,
            args.seed,
        )
        for name, rows in idx.items()
    }
    return Prepared(frames, images, faces, frontal, idx, crops, landmarker, detect_seconds)
