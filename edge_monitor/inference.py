"""TFLite classifier: the interpreter is built once, int8 (de)quantization comes from the tensors.

The runtime is ``ai-edge-litert`` (LiteRT); ``tflite-runtime`` is only an import fallback for
old installations (it is frozen at 2.14 and breaks under numpy 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from edge_monitor.crops import contrast, normalize
from edge_monitor.errors import ModelError, ModelFormatError, ModelMismatchError, ModelNotFoundError
from edge_monitor.metadata import ModelMetadata
from edge_monitor.native import native_stderr_silenced
from edge_monitor.types import Prediction


class Classifier(Protocol):
    """What the pipeline and the eye and yawn estimators use of an image classifier.

    :class:`TfliteClassifier` is the device's; ``tests/fakes.py`` holds a deterministic one for
    tests that need no model.
    """

    @property
    def meta(self) -> ModelMetadata:
        """Input size, normalisation and labels."""
        ...

    @property
    def labels(self) -> tuple[str, ...]:
        """Output labels in order."""
        ...

    def predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Probabilities for one uint8 grey image at the input size."""
        ...

    def predict(self, pixels: np.ndarray, flip_tta: bool = False) -> Prediction:
        """Prediction for one uint8 face image, optionally averaged with its mirror image."""
        ...

    def close(self) -> None:
        """Release the model (idempotent)."""
        ...


def predict_mirrored(classifier: Classifier, pixels: np.ndarray, flip_tta: bool) -> Prediction:
    """``classifier``'s prediction for one image, averaged with its mirror image when ``flip_tta``."""
    probs = classifier.predict_pixels(pixels)
    if flip_tta:
        probs = (probs + classifier.predict_pixels(pixels[:, ::-1])) / 2.0
    return Prediction(probs=probs, labels=classifier.labels)


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ModelError("no TFLite runtime installed; run: pip install ai-edge-litert") from None
    return Interpreter


def build_interpreter(path: Path, threads: int = 1):
    """A LiteRT interpreter for ``path``, tensors allocated and run once (built once per model).

    Raises:
        ModelNotFoundError: The file does not exist.
        ModelFormatError: It is not a TFLite model.
    """
    if not path.is_file():
        raise ModelNotFoundError(f"model file not found: {path}; check the model paths in the config")
    interpreter_class = _interpreter_class()
    try:
        with native_stderr_silenced():
            interp = interpreter_class(model_path=str(path), num_threads=threads)
            interp.allocate_tensors()
            interp.invoke()  # the delegate is set up on the first invoke: do it here
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFormatError(f"{path} is not a valid TFLite model ({first})") from None
    return interp


class TfliteClassifier:
    """A single-input, single-output image classifier run by the TFLite interpreter.

    Args:
        model_path: The ``.tflite`` file.
        meta: The model's metadata (labels, input size, normalisation).
        threads: Interpreter threads (1 on the device: the other cores run detection).

    Raises:
        ModelError: The file is missing, is not a TFLite model, or its tensors do not match
            the metadata.
    """

    def __init__(self, model_path: str | Path, meta: ModelMetadata, threads: int = 1) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"model file not found: {path}; check models.* in the config")
        self.meta = meta
        self.path = path
        interpreter_class = _interpreter_class()
        try:
            with native_stderr_silenced():
                self._interp = interpreter_class(model_path=str(path), num_threads=threads)
                self._interp.allocate_tensors()
                self._interp.invoke()  # the delegate is set up on the first invoke: do it here
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelFormatError(
                f"{path} is not a valid TFLite model ({first}); use a .tflite from conversion"
            ) from None
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelMismatchError(
                f"{path} has {len(inputs)} inputs and {len(outputs)} outputs; expected 1 and 1"
            )
        self._in, self._out = inputs[0], outputs[0]
        want = (1, meta.input_height, meta.input_width, 1)
        if tuple(self._in["shape"]) != want:
            raise ModelMismatchError(
                f"{path} takes input {tuple(int(v) for v in self._in['shape'])} but its metadata says {want};"
                " the model and its .json do not belong together"
            )
        if int(self._out["shape"][-1]) != len(meta.labels):
            raise ModelMismatchError(
                f"{path} outputs {int(self._out['shape'][-1])} classes but its metadata lists"
                f" {len(meta.labels)} labels"
            )
        self._in_dtype = np.dtype(self._in["dtype"])
        self._in_scale, self._in_zero = self._in["quantization"]
        self._out_scale, self._out_zero = self._out["quantization"]
        self._buf = np.zeros(want, dtype=self._in_dtype)
        self._lut = self._pixel_lut() if self._quantized_input else None
        self._closed = False

    @property
    def _quantized_input(self) -> bool:
        return self._in_dtype in (np.dtype(np.int8), np.dtype(np.uint8)) and self._in_scale > 0

    @property
    def labels(self) -> tuple[str, ...]:
        """Output labels in order."""
        return self.meta.labels

    @property
    def input_dtype(self) -> np.dtype:
        """The model's input tensor type (int8 for the shipped models)."""
        return self._in_dtype

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        info = np.iinfo(self._in_dtype)
        q = np.round(x / np.float32(self._in_scale) + np.float32(self._in_zero))
        return np.clip(q, info.min, info.max).astype(self._in_dtype)

    def _pixel_lut(self) -> np.ndarray:
        # Normalisation then quantization of every possible 8-bit pixel (after contrast): one
        # table lookup per frame instead of float maths, the same numbers as the float path.
        return self._quantize(normalize(np.arange(256, dtype=np.uint8), self.meta))

    def _invoke(self) -> np.ndarray:
        self._interp.set_tensor(self._in["index"], self._buf)
        self._interp.invoke()
        raw = self._interp.get_tensor(self._out["index"])[0]
        if self._out_scale > 0:
            return (raw.astype(np.float32) - np.float32(self._out_zero)) * np.float32(self._out_scale)
        return raw.astype(np.float32)

    def predict_probs(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a float batch ``(N, H, W, 1)`` already normalised (see ``crops``)."""
        out = np.empty((batch.shape[0], len(self.labels)), np.float32)
        for i in range(batch.shape[0]):
            self._buf[0] = self._quantize(batch[i]) if self._quantized_input else batch[i]
            out[i] = self._invoke()
        return out

    def predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Probabilities for one uint8 grey image already at the input size (H, W).

        The model's contrast normalisation is applied here, as :func:`edge_monitor.crops.model_input`
        does in training.
        """
        pixels = contrast(pixels, self.meta)
        if self._lut is not None:
            self._buf[0, :, :, 0] = self._lut[pixels]
        else:
            self._buf[0, :, :, 0] = normalize(pixels, self.meta)
        return self._invoke()

    def predict(self, pixels: np.ndarray, flip_tta: bool = False) -> Prediction:
        """Prediction for one uint8 face image, optionally averaged with its mirror image."""
        return predict_mirrored(self, pixels, flip_tta)

    def close(self) -> None:
        """Release the interpreter (idempotent)."""
        if not self._closed:
            self._closed = True
            self._interp = None


def load_classifier(
    model_path: str | Path, meta_path: str | Path | None = None, threads: int = 1, task: str | None = None
) -> TfliteClassifier:
    """Load a model and the metadata beside it (``model.json`` for ``model.tflite``).

    Args:
        task: The metadata ``name`` the slot needs (``"emotion"``, ``"eye_state"``, ``"yawn"``);
            None: any.

    Raises:
        ModelMismatchError: The metadata declares another task (e.g. the eye model as emotion).
    """
    model_path = Path(model_path)
    meta = ModelMetadata.load(meta_path or model_path.with_suffix(".json"))
    if task is not None and meta.name != task:
        raise ModelMismatchError(
            f"{model_path} is a '{meta.name}' model (its metadata says so), not a '{task}' model;"
            f" check models.{task} in the config"
        )
    return TfliteClassifier(model_path, meta, threads=threads)
