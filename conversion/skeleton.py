"""The training skeleton the emotion, eye and yawn trainers configure.

data → split → fit → int8 → verify on the device runtime (LiteRT) → metadata and report. Each
trainer keeps what is its own (its data, its network's shape, its metadata); the steps they share
are here, so a change to one step reaches every model. TensorFlow is imported inside the steps that
need it, so the data and report helpers run on a device-only install.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conversion import metrics
from conversion.common import BestWeights, class_weights, compile_cosine
from conversion.dataset import Split
from conversion.int8 import convert_int8, representative_images
from conversion.paths import MODELS, REPO
from edge_monitor.crops import model_input
from edge_monitor.errors import DatasetError
from edge_monitor.metadata import ModelMetadata

SPLIT_NAMES = ("train", "val", "test")


def portable(value: Any) -> Any:
    """Paths relative to the repository (``../shared/...``), so a recorded recipe reads the same anywhere."""
    return os.path.relpath(value.resolve(), REPO) if isinstance(value, Path) else value


def recipe_of(args: argparse.Namespace, leave_out: Iterable[str]) -> dict[str, Any]:
    """The options that made a model (paths made :func:`portable`), less those in ``leave_out``."""
    skip = set(leave_out)
    return {k: portable(v) for k, v in vars(args).items() if k not in skip}


def default_reports(out_model: Path, shipped: str, folder: str) -> Path:
    """``reports/<folder>`` for the shipped model ``models/<shipped>``; ``<stem>_report`` beside any
    other ``--out-model``."""
    if out_model.resolve() == (MODELS / shipped).resolve():
        return REPO / "reports" / folder
    return out_model.with_name(f"{out_model.stem}_report")


def check_fractions(fractions: tuple[float, ...], groups: int) -> None:
    """A group split's three shares and the number of groups it is made over.

    Raises:
        ValueError: ``fractions`` are not three positive shares summing to 1.
        DatasetError: Fewer than 3 groups.
    """
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    if groups < 3:
        raise DatasetError(f"only {groups} groups; a group split needs at least 3")


def checked_split(groups: np.ndarray, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``out`` (row indices per split), checked to keep every group in one split and cover every row."""
    seen = [set(groups[out[k]].tolist()) for k in SPLIT_NAMES]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2]), "a group crosses splits"
    assert sum(len(v) for v in out.values()) == len(groups)
    return out


def random_rows(n_rows: int, n: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a random subset of at most ``n`` of ``n_rows`` rows (smoke runs); None: all."""
    if n <= 0 or n >= n_rows:
        return None
    return np.sort(np.random.default_rng(seed).permutation(n_rows)[:n])


class Rows:
    """For a frozen dataclass of per-row arrays (``y`` among them): its length and a row subset
    (fields that are not arrays, such as a folder, are kept as they are)."""

    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, idx: np.ndarray):
        """The rows ``idx``."""
        rows = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **{k: v[idx] for k, v in rows.items() if isinstance(v, np.ndarray)})


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """Labels (N,) as float32 target rows (N, k)."""
    return np.eye(k, dtype=np.float32)[y]


def tf_dataset(x, targets, weights, batch: int, seed: int, augment=None, shuffle=True, parallel=False):
    """A ``tf.data`` pipeline of (input, target, sample weight): shuffled every epoch with ``seed``,
    batched, augmented per batch (``parallel``: across cores, the order of random draws may vary)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, targets, weights))
    if shuffle:
        ds = ds.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch)
    if augment is not None:
        calls = tf.data.AUTOTUNE if parallel else None
        ds = ds.map(lambda a, b, c: (augment(a), b, c), num_parallel_calls=calls)
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclass(frozen=True)
class Network:
    """What a small-crop trainer fixes for :func:`fit_cnn`: the input shape (H, W, C), the classes,
    the model's name and the augmenter factory ``augment(seed)`` (built after the seed is set)."""

    input_shape: tuple[int, int, int]
    classes: int
    name: str
    augment: Callable[[int], Callable]


def fit_cnn(net: Network, train: Split, val: Split | None, args, seed: int, log: Path, meta: ModelMetadata):
    """Train a ``conversion.model.build_cnn`` network with the recipe in ``args`` (cosine schedule,
    class weights, ``net.augment``); ``val`` only watched.

    Returns:
        The model (last-epoch weights), its :class:`BestWeights` (best-val epoch, not applied; None
        without ``val``) and the Keras history.
    """
    import keras

    from conversion.model import build_cnn

    keras.utils.set_random_seed(seed)
    weights = class_weights(train.y, net.classes)
    augment = net.augment(seed)
    targets = one_hot(train.y, net.classes)
    train_ds = tf_dataset(
        model_input(train.x, meta), targets, weights[train.y], args.batch_size, seed, augment
    )
    val_xy = None if val is None else (model_input(val.x, meta), one_hot(val.y, net.classes))
    model = build_cnn(net.input_shape, net.classes, args.widths, args.convs, args.dropout, name=net.name)
    per_epoch = int(np.ceil(len(train) / args.batch_size))
    steps = per_epoch * args.epochs
    warm = min(steps // 10, per_epoch)
    compile_cosine(model, args.lr, args.lr / 10, steps, warm, args.weight_decay, args.label_smoothing)
    best = None if val is None else BestWeights()
    watch = [] if best is None else [best.callback(model)]
    history = model.fit(
        train_ds,
        validation_data=val_xy,
        epochs=args.epochs,
        callbacks=[*watch, keras.callbacks.CSVLogger(log)],
        shuffle=False,  # tf.data reshuffles every epoch
        verbose=2,
    )
    return model, best, history


def to_int8(model, pool: Split, n: int, seed: int, meta: ModelMetadata) -> bytes:
    """The int8 flatbuffer of ``model``, calibrated on ``n`` images of ``pool`` (an equal share per class)."""
    return convert_int8(model, model_input(representative_images(pool, n, seed), meta))


def device_classifier(flat: bytes, out_model: Path, meta: ModelMetadata, threads: int = 1):
    """The int8 model written beside ``out_model`` (``.tflite.tmp``) and loaded by the device's
    runtime, for verification before it replaces anything; returns (classifier, temporary path)."""
    from edge_monitor.inference import TfliteClassifier

    out_model.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_model.with_suffix(".tflite.tmp")
    tmp.write_bytes(flat)
    return TfliteClassifier(tmp, meta, threads=threads), tmp


def predict_device(clf, images: np.ndarray) -> np.ndarray:
    """The device's probabilities (N, classes) for uint8 crops (N, H, W), one crop at a time."""
    if len(images) == 0:
        return np.zeros((0, len(clf.meta.labels)), np.float32)
    return np.stack([clf.predict_pixels(img) for img in images])


def predict_float(model, images: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """The float model's probabilities for uint8 crops, through the device's preprocessing."""
    if len(images) == 0:
        return np.zeros((0, len(meta.labels)), np.float32)
    return model.predict(model_input(images, meta), batch_size=256, verbose=0)


def publish(tmp: Path, out_model: Path, meta: ModelMetadata) -> None:
    """Move the verified int8 model into place and write its metadata beside it."""
    tmp.replace(out_model)
    meta.save(out_model.with_suffix(".json"))


def write_evaluation(
    reports: Path,
    out_model: Path,
    meta: ModelMetadata,
    y: np.ndarray,
    probs: tuple[np.ndarray, np.ndarray],
    title: str,
    **extra: Any,
) -> dict[str, Any]:
    """Classification reports of the float and int8 test predictions ``probs``, the int8 confusion
    plot and ``evaluation.json`` (with ``extra``) in ``reports``; returns the int8 report."""
    labels = meta.labels
    report_f = metrics.classification_report(y, probs[0].argmax(1), labels)
    report_q = metrics.classification_report(y, probs[1].argmax(1), labels)
    png = metrics.plot_confusion(
        np.array(report_q["confusion_matrix"]),
        labels,
        reports / "confusion_test_int8.png",
        f"{title} · acc {report_q['accuracy']:.3f}",
    )
    evaluation = {
        "model": str(out_model),
        "metadata": meta.to_dict(),
        "test_float": report_f,
        "test_int8": report_q,
        **extra,
        "confusion_png": png.name,
    }
    (reports / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    print(metrics.format_report(report_q))
    return report_q
