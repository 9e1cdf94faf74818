"""What the training commands (emotion, eyes, yawn) share: entry point, threads, metadata, weights, checks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_monitor.errors import EdgeMonitorError
from edge_monitor.metadata import ModelMetadata

# The --contrast-norm choices (edge_monitor.contrast's metadata values without parameters).
CONTRAST_NORMS = ("none", "equalize_hist")


def grey_metadata(
    name: str,
    labels: tuple[str, ...],
    size: tuple[int, int],
    extra: dict[str, Any],
    scale: float = 1.0 / 127.5,
    **fields: Any,
) -> ModelMetadata:
    """Metadata of a grey-crop model of ``size`` (width, height): pixels become ``x * scale - 1``
    (the trained models' ``[-1, 1]``); ``fields`` sets the rest (e.g. ``contrast``)."""
    return ModelMetadata(
        name=name,
        labels=labels,
        input_width=size[0],
        input_height=size[1],
        colour="gray",
        scale=scale,
        offset=-1.0,
        extra=dict(extra),
        **fields,
    )


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


def compile_cosine(
    model,
    lr: float,
    start_lr: float,
    total_steps: int,
    warmup_steps: int,
    weight_decay: float,
    label_smoothing: float,
) -> None:
    """Compile ``model`` for the recipes' schedule: AdamW, linear warm-up from ``start_lr`` to
    ``lr`` over ``warmup_steps``, then cosine decay to 1 % of ``lr``; label-smoothed
    cross-entropy, accuracy reported (sample weights carry the class weights)."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=start_lr,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=0.01,
        warmup_target=lr,
        warmup_steps=warmup_steps,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
        weighted_metrics=[],
    )


def add_trainer_args(p, data: Path, out_model: Path, folder: str, evaluate_only: str) -> None:
    """The options every small-crop trainer (eyes, yawn) has: data, output, report folder, seed,
    subset, threads and ``--evaluate-only`` (``evaluate_only``: what it re-measures)."""
    p.add_argument("--data", type=Path, default=data, help=f"the dataset ({data.name})")
    p.add_argument("--out-model", type=Path, default=out_model, help="int8 .tflite to write")
    p.add_argument(
        "--reports",
        type=Path,
        default=None,
        help=f"report folder (default: reports/{folder} for the shipped model, else <stem>_report beside it)",
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the group split, weights and augmentation")
    p.add_argument("--limit", type=int, default=0, help="use a random subset of N images (smoke runs)")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0 = all cores)")
    p.add_argument("--evaluate-only", action="store_true", help=f"no training: {evaluate_only}")


def add_crop_augment_args(p, rotation_deg: float, calibration: int, minimum: int) -> None:
    """The night look, photometric augmentation, contrast normalisation and int8 calibration options
    of a small-crop trainer."""
    p.add_argument(
        "--night",
        type=float,
        default=0.5,
        help="share of the training crops given the night (NoIR) look of conversion.night; 0 = none",
    )
    p.add_argument("--rotation-deg", type=float, default=rotation_deg, help="augmentation: rotation")
    p.add_argument(
        "--brightness", type=float, default=0.2, help="augmentation: brightness (normalised units)"
    )
    p.add_argument("--contrast", type=float, default=0.3, help="augmentation: contrast factor range 1 ± this")
    p.add_argument(
        "--contrast-norm",
        choices=CONTRAST_NORMS,
        default="none",
        help="contrast normalisation of every uint8 crop before scale/offset, recorded in the metadata"
        " (training, calibration, evaluation and the device apply it)",
    )
    p.add_argument(
        "--calibration",
        type=int,
        default=calibration,
        help=f"int8 calibration crops (>= {minimum}; all training crops if fewer)",
    )


def add_cnn_recipe_args(p, epochs: int, widths: list[int], convs: list[int]) -> None:
    """The small-CNN recipe options the eye and yawn trainers share (``conversion.model.build_cnn``
    and :func:`compile_cosine`), with each model's own defaults for epochs and network shape."""
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (cosine schedule)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--widths", type=int, nargs="+", default=widths)
    p.add_argument("--convs", type=int, nargs="+", default=convs)
    p.add_argument("--dropout", type=float, default=0.3)
