"""Train the FER2013 emotion CNN on FER+ label distributions (resumable; selects on public_test only).

Usage::

    python -m conversion.train --out runs/emotion            # full recipe
    python -m conversion.train --labels fer2013 --contrast none --out runs/v1   # FER2013's own labels
    python -m conversion.train --out runs/emotion --resume   # continue from last.keras
    python -m conversion.train --limit 500 --epochs 1 --out /tmp/smoke   # smoke run

With ``--labels ferplus`` (the default) the targets are FER+'s vote distributions over the seven
FER2013 classes (:mod:`conversion.ferplus`; images mostly voted unknown, not a face or contempt
are left out) and the checkpoint is selected on public_test's FER+ majority labels. Images reach
the model through :func:`edge_monitor.crops.model_input`, the model's contrast normalisation
included, exactly as on the device.

Writes to ``--out``: ``best.keras`` (best public_test accuracy), ``last.keras`` (for resume),
``history.csv``, ``state.json`` and ``emotion.json`` (the model metadata).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from conversion.common import class_weights, compile_cosine, grey_metadata, run_main, set_tf_threads
from conversion.dataset import FER_CLASSES, FER_SIZE, clean_mask, load_fer2013
from conversion.ferplus import load_ferplus
from conversion.paths import fer2013_path, ferplus_path
from conversion.skeleton import recipe_of, tf_dataset
from edge_monitor.contrast import Contrast, parse_contrast
from edge_monitor.crops import model_input
from edge_monitor.errors import ModelFormatError
from edge_monitor.metadata import ModelMetadata


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.train", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=fer2013_path(), help="fer2013.npz, fer2013.csv or image folder"
    )
    p.add_argument("--out", type=Path, default=Path("runs/emotion"), help="output directory")
    p.add_argument(
        "--labels",
        choices=("ferplus", "fer2013"),
        default="ferplus",
        help="targets: FER+ vote distributions (default) or FER2013's own labels",
    )
    p.add_argument("--ferplus", type=Path, default=ferplus_path(), help="ferplus.npz aligned with --data")
    p.add_argument(
        "--contrast",
        default="equalize_hist",
        help="contrast normalisation of the 48x48 crop: none, equalize_hist or clahe:CLIP:TILE",
    )
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine schedule)")
    p.add_argument("--warmup-epochs", type=float, default=2.0)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--class-weight-power", type=float, default=0.5, help="0 = none, 1 = inverse frequency")
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    p.add_argument("--convs", type=int, nargs="+", default=[1, 2, 2, 2])
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--erase-prob", type=float, default=0.5)
    p.add_argument(
        "--patience",
        type=int,
        default=30,
        help="early stopping on public_test accuracy (30: the whole schedule)",
    )
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--limit", type=int, default=0, help="train on a subset of N images (smoke tests)")
    p.add_argument("--no-clean", action="store_true", help="keep duplicate and blank training images")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.keras")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0 = all cores)")
    p.add_argument(
        "--time-limit-min",
        type=float,
        default=0.0,
        help="stop after the epoch that the next one would take past this many minutes (0 = no limit);"
        " the schedule stays the one of --epochs, and --resume continues it",
    )
    args = p.parse_args(argv)
    try:
        args.contrast = contrast_arg(args.contrast)
    except ModelFormatError as exc:
        p.error(str(exc))
    return args


def contrast_arg(text: str) -> Contrast:
    """``none``, ``equalize_hist`` or ``clahe:CLIP:TILE`` as a :class:`Contrast`."""
    if text.startswith("clahe:"):
        try:
            _, clip, tile = text.split(":")
            value = {"clahe": {"clip_limit": float(clip), "tile": int(tile)}}
        except ValueError:
            raise ModelFormatError(f"--contrast {text}: expected clahe:CLIP:TILE, e.g. clahe:2:6") from None
        return parse_contrast(value, "--contrast")
    return parse_contrast(text, "--contrast")


def emotion_metadata(contrast: Contrast | str = "none", **extra) -> ModelMetadata:
    """Metadata of the emotion model: the normalisation is fixed here, once."""
    return grey_metadata("emotion", FER_CLASSES, (FER_SIZE, FER_SIZE), extra, contrast=contrast)


def training_targets(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """The training and selection data of the recipe.

    Returns:
        ``(x_train, t_train, x_val, t_val, info)``: uint8 images and float32 target rows (N, 7);
        the training targets are FER+ vote distributions (or FER2013 one-hot), the selection
        targets one-hot public_test labels (FER+ majority, or FER2013's own). ``info`` counts
        what was left out.
    """
    splits = load_fer2013(args.data)
    k = len(FER_CLASSES)
    x, y = splits.train.x, splits.train.y
    keep, info = (np.ones(len(y), bool), {}) if args.no_clean else clean_mask(splits.train)
    val_x, val_y = splits.public_test.x, splits.public_test.y
    if args.labels == "ferplus":
        fp = load_ferplus(args.ferplus, args.data)
        dist, usable = fp["train"].distribution()
        info["ferplus_unusable"] = int((keep & ~usable).sum())
        keep &= usable
        targets = dist
        pub = fp["public_test"]
        val_x, val_y = val_x[pub.has_majority], pub.majority[pub.has_majority]
    else:
        targets = np.eye(k, dtype=np.float32)[y]
    idx = np.flatnonzero(keep)
    if args.limit:
        rng = np.random.default_rng(args.seed)
        idx = np.sort(rng.permutation(idx)[: args.limit])
        vidx = np.sort(rng.permutation(len(val_y))[: args.limit])
        val_x, val_y = val_x[vidx], val_y[vidx]
    return x[idx], targets[idx], val_x, np.eye(k, dtype=np.float32)[val_y], info


def _history_rows(path: Path) -> list[str]:
    return path.read_text().strip().splitlines()[1:] if path.exists() else []


def _timing(out: Path, earlier: dict, seconds: float) -> dict:
    """Training time and epochs so far (``earlier``: a resumed run's record), written to ``timing.json``."""
    timing = {
        "train_seconds": round(earlier.get("train_seconds", 0.0) + seconds, 1),
        "epochs_run": len(_history_rows(out / "history.csv")),
        "cpu_count": os.cpu_count(),
    }
    (out / "timing.json").write_text(json.dumps(timing, indent=2))
    return timing


def _model(args: argparse.Namespace, out: Path, steps_per_epoch: int):
    """The network to fit, and the epoch it starts at and the best public_test accuracy so far
    (``--resume``: the last checkpoint's; else a new network, compiled for the whole schedule)."""
    import keras

    from conversion.model import build_cnn

    if args.resume and (out / "last.keras").exists():
        model = keras.models.load_model(out / "last.keras")
        state = json.loads((out / "state.json").read_text())
        epoch, best_val = int(state["epoch"]), float(state["best_val_accuracy"])
        print(f"resuming from {out / 'last.keras'} after epoch {epoch} (best public_test {best_val:.4f})")
        return model, epoch, best_val
    model = build_cnn((FER_SIZE, FER_SIZE, 1), len(FER_CLASSES), args.widths, args.convs, args.dropout)
    total = steps_per_epoch * args.epochs
    warm = int(steps_per_epoch * args.warmup_epochs)
    compile_cosine(model, args.lr, args.lr / 20, total, warm, args.weight_decay, args.label_smoothing)
    (out / "history.csv").unlink(missing_ok=True)
    return model, 0, -1.0


def _callbacks(args: argparse.Namespace, out: Path, best_val: float, earlier: dict) -> list:
    """Checkpoints (best and last), the history log, early stopping, and the resumable state and
    time written after every epoch (a run stopped in between keeps both); ``--time-limit-min``."""
    import keras

    t0 = time.monotonic()

    class State(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = best_val
            self.epoch_start = t0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            self.best = max(self.best, float(logs.get("val_accuracy", -1)))
            (out / "state.json").write_text(json.dumps({"epoch": epoch + 1, "best_val_accuracy": self.best}))
            now = time.monotonic()
            _timing(out, earlier, now - t0)
            limit = 60.0 * args.time_limit_min
            if limit and now - t0 + (now - self.epoch_start) > limit:
                print(f"time limit: stopping after epoch {epoch + 1} of {args.epochs}")
                self.model.stop_training = True

    best = keras.callbacks.ModelCheckpoint(
        out / "best.keras", monitor="val_accuracy", mode="max", save_best_only=True
    )
    if best_val >= 0:
        best.best = best_val
    return [
        best,
        keras.callbacks.ModelCheckpoint(out / "last.keras"),
        keras.callbacks.CSVLogger(out / "history.csv", append=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=args.patience),
        State(),
    ]


def _datasets(args: argparse.Namespace, x_train, t_train, x_val, t_val):
    """Training batches (class-weighted, augmented: flip, shift, rotation, zoom, erasing) and the
    selection set, both through the device's preprocessing."""
    from conversion.augment import make_augmenter

    meta = emotion_metadata(args.contrast)
    weights = class_weights(t_train.argmax(1), len(FER_CLASSES), args.class_weight_power)
    augment = make_augmenter(erase_prob=args.erase_prob, seed=args.seed)
    x, w = model_input(x_train, meta), weights[t_train.argmax(1)]
    train_ds = tf_dataset(x, t_train, w, args.batch_size, args.seed, augment, parallel=True)
    ones = np.ones(len(t_val), np.float32)
    return train_ds, tf_dataset(model_input(x_val, meta), t_val, ones, 256, args.seed, shuffle=False)


def train(args: argparse.Namespace) -> Path:
    """Run the recipe; returns the path of the best checkpoint."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    set_tf_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    x_train, t_train, x_val, t_val, clean_stats = training_targets(args)
    print(
        f"train {len(t_train)} images on {args.labels} labels (removed {clean_stats}),"
        f" contrast {args.contrast}, select on public_test {len(t_val)}"
    )
    train_ds, val_ds = _datasets(args, x_train, t_train, x_val, t_val)
    model, initial_epoch, best_val = _model(args, out, int(np.ceil(len(t_train) / args.batch_size)))
    model.summary(print_fn=lambda s, **_: print(s))
    timing_path = out / "timing.json"
    earlier = json.loads(timing_path.read_text()) if args.resume and timing_path.exists() else {}
    t0 = time.monotonic()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        initial_epoch=initial_epoch,
        callbacks=_callbacks(args, out, best_val, earlier),
        shuffle=False,  # tf.data already reshuffles every epoch
        verbose=1 if sys.stdout.isatty() else 2,
    )
    elapsed = time.monotonic() - t0
    recipe = recipe_of(args, ("out", "resume", "threads", "time_limit_min"))
    recipe["contrast"] = args.contrast.to_json()
    meta = emotion_metadata(
        args.contrast,
        recipe=recipe,
        train_images=len(t_train),
        removed=clean_stats,
        params=model.count_params(),
        **_timing(out, earlier, elapsed),
    )
    meta.save(out / "emotion.json")
    print(f"done in {elapsed / 60:.1f} min; best public_test accuracy in {out / 'best.keras'}")
    return out / "best.keras"


def main(argv: list[str] | None = None) -> int:
    return run_main(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
