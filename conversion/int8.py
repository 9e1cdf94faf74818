"""The int8 step every trainer shares: a class-balanced calibration set from the training images, and
full-integer post-training quantization of a Keras model to a TFLite flatbuffer."""

from __future__ import annotations

import numpy as np

from conversion.dataset import Split


def representative_images(split: Split, n: int, seed: int) -> np.ndarray:
    """``n`` training images, an equal share per class, uint8 (n, H, W).

    A class with fewer images than its share gives all it has; the rest is drawn at random
    from the remaining images, so the set always has ``n`` images (if the split does).
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(split.y)
    per = int(np.ceil(n / len(classes)))
    chosen = np.concatenate([rng.permutation(np.flatnonzero(split.y == c))[:per] for c in classes])
    chosen = rng.permutation(chosen)[:n]
    if len(chosen) < n:
        rest = np.setdiff1d(np.arange(len(split)), chosen)
        chosen = np.concatenate([chosen, rng.permutation(rest)[: n - len(chosen)]])
    return split.x[rng.permutation(chosen)]


def convert_int8(model, calibration: np.ndarray) -> bytes:
    """Convert a Keras model to a full-integer TFLite flatbuffer with int8 input and output.

    Args:
        model: Keras model taking (1, H, W, 1) float input.
        calibration: Preprocessed float batch (N, H, W, 1) from the training split.
    """
    import tempfile

    import keras
    import tensorflow as tf

    def representative():
        for i in range(calibration.shape[0]):
            yield [calibration[i : i + 1]]

    # Keras 3 models convert reliably through an exported SavedModel with a fixed batch of 1
    # (a concrete function of the live model keeps resource variables: READ_VARIABLE ops).
    shape = (1, *model.input_shape[1:])
    with tempfile.TemporaryDirectory() as tmp:
        export = keras.export.ExportArchive()
        export.track(model)
        export.add_endpoint(
            name="serve",
            fn=lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec(shape, tf.float32, name="image")],
        )
        export.write_out(tmp, verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"])
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        return conv.convert()
