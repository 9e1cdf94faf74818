"""Crops and preprocessing shared, function for function, by training and the device.

``conversion`` imports these functions, so a face seen by the camera reaches the model as
exactly the tensor a training image of the same face would have been.
"""

from __future__ import annotations

import cv2
import numpy as np

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
