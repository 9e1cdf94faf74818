"""What the training commands (emotion, eyes, yawn) share: entry point, threads, weights, checks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from edge_monitor.errors import EdgeMonitorError


def run_main(run: Callable[[Any], Any], args: Any) -> int:
    """Run a conversion command; an :class:`EdgeMonitorError` becomes one line and its exit code."""
    try:
        run(args)
    except EdgeMonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def set_tf_threads(threads: int) -> None:
    """Limit TensorFlow to ``threads`` (0: all cores).

    TensorFlow fixes its thread pools when it first runs; a second command in the same process
    (tests) keeps the first one's pools, and says so.
    """
    if not threads:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        print(f"note: TensorFlow is already initialised here; --threads {threads} has no effect")


def class_weights(y: np.ndarray, k: int, power: float = 1.0) -> np.ndarray:
    """Per-class weights ``(N / (k * count)) ** power``, with mean 1 over the samples."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w = (len(y) / (k * np.maximum(counts, 1))) ** power
    w /= w[y].mean()
    return w.astype(np.float32)


def compare_float_int8(p_float: np.ndarray, p_int8: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy of both models, the drop in percentage points, top-1 agreement, largest difference."""
    if len(y) == 0:
        return {
            k: 0.0
            for k in ("float_accuracy", "int8_accuracy", "drop_pp", "top1_agreement", "max_abs_prob_diff")
        }
    top_f, top_q = p_float.argmax(1), p_int8.argmax(1)
    acc_f, acc_q = float((top_f == y).mean()), float((top_q == y).mean())
    return {
        "float_accuracy": acc_f,
        "int8_accuracy": acc_q,
        "drop_pp": 100.0 * (acc_f - acc_q),
        "top1_agreement": float((top_f == top_q).mean()),
        "max_abs_prob_diff": float(np.abs(p_float - p_int8).max()),
    }


class BestWeights:
    """Keeps the weights of the epoch with the best val accuracy (ties: the lower val loss)."""

    def __init__(self) -> None:
        self.key = (-1.0, 0.0)
        self.epoch = -1
        self.weights = None

    def callback(self, model):
        """A Keras callback recording into this object."""
        import keras

        outer = self

        class Keep(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                key = (float(logs.get("val_accuracy", -1.0)), -float(logs.get("val_loss", 0.0)))
                if key > outer.key:
                    outer.key, outer.epoch, outer.weights = key, epoch, model.get_weights()

        return Keep()
