"""Train, quantize and evaluate the yawn model on YawDD frames, split by clip (group).

Usage::

    python -m conversion.yawn --threads 1                   # full recipe → models/yawn.tflite
    python -m conversion.yawn --limit 160 --epochs 2 --fer-negatives 0 --out-model /tmp/yawn.tflite
    python -m conversion.yawn --evaluate-only               # re-measure the shipped model

The data (YawDD's index, the group split, FER2013 negatives) is in :mod:`conversion.yawn_data`,
the mouth crops in :mod:`conversion.yawn_crops`; the steps (fit, int8, verify on the device's
runtime, report) are the shared :mod:`conversion.skeleton`. Faces are found by the device's default
detector, the mouth crop is cut around the face landmarks as on the device, training crops come from
jittered landmarks and half of them get the night (NoIR) look (``--night``). Frames without a face
have no crop: they are left out of training and validation, and reported on test three ways (on the
frames with a face; faceless ones counted as errors; and read as "no yawn", as the device does).
The model is selected on ``val``; ``test`` is only reported. Experiment records:
``reports/yawn/experiments.md``.

Writes ``--out-model`` (``.tflite``) with its metadata beside it (``.json``), and to
``--reports``: ``evaluation.json``, ``confusion_test_int8.png``, ``history.csv`` and
``training_curves.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from conversion import metrics, skeleton
from conversion.common import (
    add_cnn_recipe_args,
    add_crop_augment_args,
    add_trainer_args,
    compare_float_int8,
    run_main,
)
from conversion.dataset import Split
from conversion.night import night_like, night_share
from conversion.paths import MODELS, fer2013_path
from conversion.yawn_crops import Prepared, face_points, fer_landmark_mouth_crops, prepare
from conversion.yawn_data import (
    DATASET_DETECTOR,
    DEFAULT_FRACTIONS,
    FER_NEGATIVE_CLASSES,
    MIN_CALIBRATION,
    YAWN_LABELS,
    YAWN_SIZE,
    YawnFrames,
    dataset_detector,
    fer_negatives,
    find_faces,
    load_index,
    read_frames,
    roc_auc,
    split_by_group,
    subset,
    yawdd_path,
    yawn_metadata,
)
from conversion.yawn_report import device_detector_check, print_summary, test_numbers
from edge_monitor.config import load_config
from edge_monitor.crops import MOUTH_REGION
from edge_monitor.errors import DatasetError
from edge_monitor.metadata import ModelMetadata

__all__ = [
    "DATASET_DETECTOR",
    "DEFAULT_FRACTIONS",
    "YAWN_LABELS",
    "YAWN_SIZE",
    "YawnFrames",
    "dataset_detector",
    "face_points",
    "find_faces",
    "load_index",
    "main",
    "read_frames",
    "roc_auc",
    "run",
    "split_by_group",
    "yawdd_path",
]
SPLIT_NAMES = skeleton.SPLIT_NAMES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.yawn", description=__doc__.split("\n\n")[0])
    what = "re-measure the int8 --out-model on its test split and check its recorded numbers"
    add_trainer_args(p, yawdd_path(), MODELS / "yawn.tflite", "yawn", what)
    add_cnn_recipe_args(p, epochs=40, widths=[16, 32, 64], convs=[1, 2, 2])
    add_crop_augment_args(p, rotation_deg=8.0, calibration=400, minimum=MIN_CALIBRATION)
    p.add_argument("--size", type=int, nargs=2, default=list(YAWN_SIZE), metavar=("W", "H"), help="input")
    p.add_argument("--jitter", type=int, default=8, help="augmentation: extra crops per training frame")
    p.add_argument(
        "--box-shift", type=float, default=0.06, help="jitter: landmark shift, fraction of eye span"
    )
    p.add_argument("--box-scale", type=float, default=0.08, help="jitter: landmark scale range 1 ± this")
    p.add_argument(
        "--fer-negatives",
        type=int,
        default=1500,
        help="add N FER2013 non-yawning faces (talking, smiling) as no_yawn training crops",
    )
    p.add_argument("--fer", type=Path, default=fer2013_path(), help="fer2013.npz (for --fer-negatives)")
    return p.parse_args(argv)


def training_set(data: Prepared, args: argparse.Namespace, size: tuple[int, int]) -> tuple[Split, Split]:
    """The training crops (YawDD's jittered crops, FER2013 negatives, the night look on a share) and
    the calibration pool (the unjittered YawDD training crops, one per frame: device-like)."""
    x_train, src_train, own_train = data.crops["train"]
    y_train = data.frames.y[src_train]
    if not own_train.any() or len(data.crops["val"][0]) == 0:
        raise DatasetError("no training or validation frame has a detected face; raise --limit")
    calib_pool = Split(x_train[own_train], y_train[own_train])
    if args.fer_negatives > 0:
        fer_faces = fer_negatives(args.fer, "train", args.fer_negatives, args.seed)
        neg = fer_landmark_mouth_crops(
            fer_faces, size, data.landmarker, 1, args.box_shift, args.box_scale, args.seed
        )
        x_train = np.concatenate([x_train, neg])
        y_train = np.concatenate([y_train, np.zeros(len(neg), np.int64)])
        print(f"added {len(neg)} FER2013 no_yawn crops to {len(calib_pool)} YawDD training frames")
    if args.night > 0:  # the night (NoIR) look on a share of the training crops
        x_train, pick = night_share(x_train, args.night, np.random.default_rng(args.seed + 11))
        print(f"night look on {int(pick.sum())} of {len(x_train)} training crops")
    return Split(x_train, y_train), calib_pool


def yawn_network(args: argparse.Namespace, size: tuple[int, int]) -> skeleton.Network:
    """The yawn network: grey mouth crops in, no_yawn/yawn out; photometric augmentation only (shift
    and scale come from the jittered landmarks, which cut real pixels instead of filling)."""

    def augment(seed: int):
        from conversion.augment import make_photometric_augmenter

        return make_photometric_augmenter(args.rotation_deg, args.brightness, args.contrast, seed=seed)

    return skeleton.Network((size[1], size[0], 1), len(YAWN_LABELS), "yawn_cnn", augment)


def measure(clf, model, data: Prepared, seed: int) -> tuple[dict, dict]:
    """Float and int8 (device) predictions and numbers on val and test, plain and night-like."""
    probs, checks = {}, {}
    for name in ("val", "test"):
        x, src, _ = data.crops[name]
        y = data.frames.y[src]
        p_float = skeleton.predict_float(model, x, clf.meta)
        p_int8 = skeleton.predict_device(clf, x)
        probs[name] = (p_float, p_int8, y)
        auc = roc_auc(y, p_int8[:, 1]) if len(y) else 0.5
        checks[name] = {"crops": len(y), **compare_float_int8(p_float, p_int8, y), "int8_roc_auc": auc}
        # The same crops given the night look (fixed seed): how the model holds up at night.
        p_dark = skeleton.predict_device(clf, night_like(x, np.random.default_rng(seed + 13)))
        checks[name]["int8_accuracy_night_like"] = float((p_dark.argmax(1) == y).mean()) if len(y) else 0.0
    return probs, checks


def talking_check(clf, args: argparse.Namespace, size: tuple[int, int], landmarker) -> dict[str, Any] | None:
    """How often FER2013's validation faces that are not yawning read as yawning (None without FER)."""
    if not args.fer.is_file():
        return None
    crops = fer_landmark_mouth_crops(
        fer_negatives(args.fer, "public_test", 1000, args.seed), size, landmarker
    )
    p_fer = skeleton.predict_device(clf, crops)[:, 1]
    return {
        "images": len(crops),
        "classes": list(FER_NEGATIVE_CLASSES),
        "int8_yawn_rate": float((p_fer >= 0.5).mean()),
        "int8_mean_prob": float(p_fer.mean()),
    }


def _check_args(args: argparse.Namespace) -> None:
    if args.calibration < MIN_CALIBRATION:
        raise SystemExit(f"--calibration must be at least {MIN_CALIBRATION} crops")
    if args.fer_negatives > 0 and not args.fer.is_file():
        raise DatasetError(
            f"{args.fer} not found (needed for --fer-negatives {args.fer_negatives});"
            " pass --fer with fer2013.npz, or --fer-negatives 0"
        )


class YawnMeasured(NamedTuple):
    """What the yawn model is measured on after training, on the device's runtime."""

    checks: dict[str, dict[str, Any]]  # val and test numbers (test: all three ways, test_numbers)
    test_probs: tuple[np.ndarray, np.ndarray, np.ndarray]  # float, int8, labels
    device_check: dict[str, Any]
    talking: dict[str, Any] | None


def _measure_all(clf, model, data: Prepared, args: argparse.Namespace, size: tuple[int, int]) -> YawnMeasured:
    """The val and test numbers, the device detector's and the FER talking checks (see ``YawnMeasured``)."""
    probs, checks = measure(clf, model, data, args.seed)
    device_check = device_detector_check(data.images, data.frames, data.idx["test"], clf, data.landmarker)
    talking = talking_check(clf, args, size, data.landmarker)
    checks["test"] = test_numbers(checks["test"], probs["test"], data)
    return YawnMeasured(checks, probs["test"], device_check, talking)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Detect, crop and split YawDD, then the shared skeleton (fit, select, int8, verify, publish,
    report).

    Returns:
        The test numbers stored in the metadata.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    frames = subset(load_index(args.data), args.limit, args.seed)  # dataset errors before TF
    _check_args(args)
    size = (int(args.size[0]), int(args.size[1]))
    data = prepare(frames, args, size)
    print(f"splits by group (seed {args.seed}): {json.dumps(data.sizes())}")
    train, calib_pool = training_set(data, args, size)
    reports = args.reports or skeleton.default_reports(args.out_model, "yawn.tflite", "yawn")
    trainer = skeleton.Trainer(
        network=yawn_network(args, size),
        meta=yawn_metadata(size, MOUTH_REGION, args.contrast_norm),
        train=train,
        val=Split(data.crops["val"][0], frames.y[data.crops["val"][1]]),
        calibration=calib_pool,
        reports=reports,
        measure=partial(_measure_all, data=data, args=args, size=size),
        metadata=partial(_metadata, args, size, data),
        report=partial(_report, reports, args.out_model, data),
    )
    return skeleton.run_trainer(trainer, args)


def _metadata(
    args: argparse.Namespace,
    size: tuple[int, int],
    data: Prepared,
    fitted: skeleton.Fitted,
    measured: YawnMeasured,
) -> ModelMetadata:
    """The yawn model's metadata: data, detector, split, recipe, the fit's record and the metrics."""
    recipe = skeleton.recipe_of(args, ("out_model", "reports", "threads", "evaluate_only"))
    if args.fer_negatives <= 0:
        recipe.pop("fer")
    meta = yawn_metadata(
        size,
        MOUTH_REGION,
        args.contrast_norm,
        crop="landmarks",
        dataset="YawDD frames (Abtahi et al. 2014), split by clip group",
        detector=dataclasses.asdict(load_config().detector),
        split={"by": "group", "fractions": list(DEFAULT_FRACTIONS), "seed": args.seed, **data.sizes()},
        seed=args.seed,
        recipe=recipe,
        params=fitted.params,
        train_seconds=fitted.train_seconds,
        detect_seconds=round(data.detect_seconds, 1),
        epochs_run=fitted.epochs_run,
        best_epoch=fitted.best_epoch,
        cpu_count=os.cpu_count(),
        threads=args.threads or os.cpu_count(),
    )
    test = measured.checks["test"]
    numbers = skeleton.model_metrics(
        fitted,
        test,
        {
            "test_accuracy_faceless_as_errors": test["int8_accuracy_faceless_as_errors"],
            "test": test,
            "val": measured.checks["val"],
            "test_device_detector": measured.device_check,
            "fer_public_test_non_yawning": measured.talking,
        },
    )
    return dataclasses.replace(meta, metrics=numbers)


def _report(
    reports: Path, out_model: Path, data: Prepared, meta: ModelMetadata, measured: YawnMeasured
) -> dict:
    """``evaluation.json``, the confusion plot and the training curves in ``reports``; the summary."""
    p_float, p_int8, y_test = measured.test_probs
    test_groups = sorted(set(data.frames.group[data.idx["test"]].tolist()), key=lambda g: (len(g), g))
    curves = metrics.plot_history(reports / "history.csv", reports / "training_curves.png")
    title = "yawn int8 · YawDD group-held-out test"
    skeleton.write_evaluation(
        reports,
        out_model,
        meta,
        y_test,
        (p_float, p_int8),
        title,
        test_groups=test_groups,
        curves_png=curves.name,
    )
    test = measured.checks["test"]
    print_summary(test, measured.checks, measured.device_check, measured.talking, out_model, reports)
    return test


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.evaluate_only:
        from conversion.yawn_report import evaluate_only

        return run_main(evaluate_only, args)
    return run_main(run, args)


if __name__ == "__main__":
    sys.exit(main())
