"""Train, quantize and evaluate the eye-state model (open / closed) on CEW, split by source photo.

Usage::

    python -m conversion.eyes --threads 1                        # full recipe → models/eye_state.tflite
    python -m conversion.eyes --limit 400 --epochs 1 --out-model /tmp/eye.tflite   # smoke run
    python -m conversion.eyes --cv 5                             # cross-validation, see eyes_cv
    python -m conversion.eyes --evaluate-only                    # re-measure the shipped model

The data, split (70/15/15 over photos, fixed seed), network and scores are in
:mod:`conversion.eye_data`; the steps (fit, int8, verify on the device's runtime, report) are the
shared :mod:`conversion.skeleton`. The model is selected on ``val``; ``test`` is only reported.
Experiment records (recipe choice, ensemble, night look, cross-validation plans):
``reports/eyes/experiments.md``.

Writes ``--out-model`` (``.tflite``) with its metadata beside it (``.json``), and to
``--reports``: ``evaluation.json``, ``confusion_test_int8.png`` and ``history.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from conversion import skeleton
from conversion.common import (
    add_cnn_recipe_args,
    add_crop_augment_args,
    add_trainer_args,
    compare_float_int8,
    run_main,
)
from conversion.eye_data import (
    DEFAULT_FRACTIONS,
    MIN_CALIBRATION,
    EyeData,
    cew_path,
    eye_metadata,
    eye_network,
    eye_recipe,
    eye_reports,
    load_cew,
    night_accuracy,
    predict_int8,
    scores,
    split_by_group,
    subset,
)
from conversion.night import night_share
from conversion.paths import MODELS
from edge_monitor.errors import DatasetError
from edge_monitor.metadata import ModelMetadata

__all__ = ["DEFAULT_FRACTIONS", "cew_path", "evaluate_only", "load_cew", "main", "run", "split_by_group"]

HELD_OUT = ("val", "test")  # what the model is measured on; it is fitted on train
# The numbers of each held-out part, and the test (float, int8) probabilities.
Measured = tuple[dict[str, dict[str, Any]], tuple[np.ndarray, np.ndarray]]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.eyes", description=__doc__.split("\n\n")[0])
    what = "re-measure the int8 --out-model on val and test and update its metadata"
    add_trainer_args(p, cew_path(), MODELS / "eye_state.tflite", "eyes", what)
    add_cnn_recipe_args(p, epochs=50, widths=[32, 64, 128], convs=[2, 2, 2])
    add_crop_augment_args(p, rotation_deg=10.0, calibration=500, minimum=MIN_CALIBRATION)
    p.add_argument("--shift", type=float, default=0.1, help="augmentation: shift, fraction of the size")
    p.add_argument("--zoom", type=float, default=0.15, help="augmentation: zoom in/out fraction")
    p.add_argument(
        "--cv",
        type=int,
        default=0,
        help="no model written: K-fold cross-validation by photo on train+val (conversion.eyes_cv)",
    )
    return p.parse_args(argv)


def _parts(data: EyeData, args: argparse.Namespace) -> dict[str, EyeData]:
    """The group split with ``args.seed``, each part cut to ``args.limit`` images."""
    idx = split_by_group(data.group, DEFAULT_FRACTIONS, args.seed)
    return {k: subset(data.take(v), args.limit, args.seed) for k, v in idx.items()}


def _training_images(train: EyeData, args: argparse.Namespace) -> EyeData:
    """The training part with the night look on a fixed share (``--night``), checked for calibration."""
    if args.night > 0:
        x, _ = night_share(train.x, args.night, np.random.default_rng(args.seed + 11))
        train = replace(train, x=x)
    if len(train) < MIN_CALIBRATION:
        raise DatasetError(
            f"{len(train)} training images; the int8 calibration needs at least {MIN_CALIBRATION}"
            " (raise --limit)"
        )
    return train


def _sizes(parts: dict[str, EyeData]) -> dict[str, dict[str, int]]:
    return {
        k: {"images": len(v), "groups": len(np.unique(v.group)), "closed": int((v.y == 0).sum())}
        for k, v in parts.items()
    }


def _measure(clf, model, part: EyeData, seed: int) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    """Float and int8 (device) numbers on ``part``, and its (float, int8) probabilities."""
    p_float = skeleton.predict_float(model, part.x, clf.meta)  # the published preprocessing
    p_int8, flipped = predict_int8(clf, part.x)  # the device's own path
    plain, flip = scores(p_int8, part), scores(flipped, part)
    numbers = {
        "images": len(part),
        "groups": len(np.unique(part.group)),
        **compare_float_int8(p_float, p_int8, part.y),
        "int8_face_accuracy": plain["per_photo"],
        "faces": plain["photos"],
        "int8_flip_average_accuracy": flip["per_image"],
        "int8_flip_average_face_accuracy": flip["per_photo"],
        "int8_accuracy_night_like": night_accuracy(clf, part, seed),
    }
    return numbers, (p_float, p_int8)


def _measure_held_out(clf, model, parts: dict[str, EyeData], seed: int) -> Measured:
    """The numbers of every held-out part, and the test probabilities for the report."""
    measured = {name: _measure(clf, model, parts[name], seed) for name in HELD_OUT}
    return {name: m[0] for name, m in measured.items()}, measured["test"][1]


def _metadata(
    args: argparse.Namespace, sizes: dict, fitted: skeleton.Fitted, measured: Measured
) -> ModelMetadata:
    """The eye model's metadata: data, split, recipe, the fit's record and the held-out metrics."""
    checks = measured[0]
    member = {  # one member: the network at its best-val epoch
        "seed": args.seed,
        "best_epoch": fitted.best_epoch,
        "best_val_accuracy": fitted.best_val_accuracy,
        "test_float_accuracy": checks["test"]["float_accuracy"],  # reported, never selected on
    }
    meta = eye_metadata(
        args.contrast_norm,
        dataset="CEW (Closed Eyes In The Wild, Song et al. 2014), split by source photo",
        split={"by": "group", "fractions": list(DEFAULT_FRACTIONS), "seed": args.seed, **sizes},
        fit_on=["train"],
        seed=args.seed,
        recipe=eye_recipe(args),
        params=fitted.params,
        train_seconds=fitted.train_seconds,
        epochs_run=fitted.epochs_run,
        members=[member],
        cpu_count=os.cpu_count(),
        threads=args.threads or os.cpu_count(),
    )
    return replace(meta, metrics=skeleton.model_metrics(fitted, checks["test"], checks))


def _report(
    reports: Path, out_model: Path, y_test: np.ndarray, meta: ModelMetadata, measured: Measured
) -> dict[str, Any]:
    """``evaluation.json`` and the confusion plot in ``reports``, and the summary line."""
    test, probs = measured[0]["test"], measured[1]
    title = "eye_state int8 · CEW group-held-out test"
    skeleton.write_evaluation(reports, out_model, meta, y_test, probs, title)
    print(
        f"test (int8) accuracy {test['int8_accuracy']:.4f}, float {test['float_accuracy']:.4f},"
        f" agreement {test['top1_agreement']:.4f}; wrote {out_model} and {reports}"
    )
    return test


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load and split CEW, then the shared skeleton (fit, select, int8, verify, publish, report).

    Returns:
        The test numbers stored in the metadata.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    data = load_cew(args.data)  # dataset errors before TensorFlow's import time
    if args.calibration < MIN_CALIBRATION:
        raise SystemExit(f"--calibration must be at least {MIN_CALIBRATION} images")
    parts = _parts(data, args)
    fit_d = _training_images(parts["train"], args)
    sizes = _sizes(parts)
    print(f"splits by group (seed {args.seed}): {json.dumps(sizes)}")
    reports = args.reports or eye_reports(args.out_model)
    trainer = skeleton.Trainer(
        network=eye_network(args),
        meta=eye_metadata(args.contrast_norm),
        train=fit_d.split(),
        val=parts["val"].split(),
        calibration=fit_d.split(),
        reports=reports,
        measure=partial(_measure_held_out, parts=parts, seed=args.seed),
        metadata=partial(_metadata, args, sizes),
        report=partial(_report, reports, args.out_model, parts["test"].y),
    )
    return skeleton.run_trainer(trainer, args)


def evaluate_only(args: argparse.Namespace) -> dict[str, Any]:
    """Re-measure an existing int8 model on the same group split, through the device's runtime.

    Per-image accuracy must match what its metadata recorded at training time (same split, same
    model); the per-photo accuracy is added. Float numbers need the Keras model and are kept.
    """
    from edge_monitor.inference import load_classifier

    data = load_cew(args.data)
    meta_path = args.out_model.with_suffix(".json")
    clf = load_classifier(args.out_model, meta_path, threads=1)
    meta = clf.meta
    seed = int(meta.extra.get("split", {}).get("seed", args.seed))
    idx = split_by_group(data.group, DEFAULT_FRACTIONS, seed)
    limit = int(meta.extra.get("recipe", {}).get("limit", 0))  # the subset a smoke run measured
    for name in HELD_OUT:
        part = subset(data.take(idx[name]), limit, seed)
        measured = _remeasure(clf, part, seed, name, meta.metrics.get(name, {}).get("int8_accuracy"))
        meta.metrics.setdefault(name, {}).update(measured)
    clf.close()
    meta.save(meta_path)
    return meta.metrics["test"]


def _remeasure(clf, part: EyeData, seed: int, name: str, recorded: float | None) -> dict[str, Any]:
    """The per-photo, flip-averaged and night-like numbers of ``part``, after checking the per-image
    accuracy against the ``recorded`` one."""
    p, flipped = predict_int8(clf, part.x)
    plain, flip = scores(p, part), scores(flipped, part)
    acc = plain["per_image"]
    if recorded is not None and abs(acc - recorded) > 1e-9:
        raise DatasetError(
            f"{name}: int8 accuracy {acc:.4f} differs from the recorded {recorded:.4f};"
            " the data or the split changed: retrain with python -m conversion.eyes"
        )
    night = night_accuracy(clf, part, seed)
    print(
        f"{name}: int8 {acc:.4f} per eye image, {plain['per_photo']:.4f} per photo ({plain['photos']} photos);"
        f" flip-averaged {flip['per_image']:.4f} per eye image, {flip['per_photo']:.4f} per photo;"
        f" night-like {night:.4f} per eye image"
    )
    return {
        "int8_face_accuracy": plain["per_photo"],
        "faces": plain["photos"],
        "int8_flip_average_accuracy": flip["per_image"],
        "int8_flip_average_face_accuracy": flip["per_photo"],
        "int8_accuracy_night_like": night,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cv and args.contrast_norm != "none":
        raise SystemExit("--cv trains with the shipped preprocessing; --contrast-norm is not supported there")
    if args.cv:
        from conversion.eyes_cv import cross_validate

        return run_main(cross_validate, args)
    return run_main(evaluate_only if args.evaluate_only else run, args)


if __name__ == "__main__":
    sys.exit(main())
