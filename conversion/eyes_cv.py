"""Group k-fold cross-validation of the eye-state recipe on CEW's train and val photos.

Usage::

    python -m conversion.eyes --cv 5          # the recipe's defaults → reports/eyes/cv.json

The held-out test split of ``conversion.eyes`` (same ``--seed``) is left out entirely: the train and
val photos are cut into ``k`` folds by group, and each fold is predicted by a network trained with
the recipe on the other folds (its last-epoch weights: no fold chooses its own epoch), converted to
int8 and run through the device's runtime. Every one of the 4,112 train+val images is then
predicted once by a network that never saw its photo, so the pooled accuracy measures the recipe
with about a sixth of the noise of one 734-image test split, without touching that split.

Plans and results of the cross-validation runs: ``reports/eyes/experiments.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from conversion import skeleton
from conversion.common import set_tf_threads
from conversion.eye_data import (
    DEFAULT_FRACTIONS,
    EyeData,
    eye_metadata,
    eye_network,
    eye_recipe,
    eye_reports,
    load_cew,
    predict_int8,
    scores,
    split_by_group,
    subset,
)
from edge_monitor.errors import DatasetError


def group_folds(groups: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``k`` folds drawn over whole groups (shuffled with ``seed``), each sorted.

    Raises:
        DatasetError: Fewer groups than folds.
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    unique = np.unique(groups)
    if len(unique) < k:
        raise DatasetError(f"only {len(unique)} groups for {k} folds")
    order = np.random.default_rng(seed).permutation(unique)
    return [np.sort(np.flatnonzero(np.isin(groups, part))) for part in np.array_split(order, k)]


def pool_without_test(data: EyeData, seed: int, limit: int = 0) -> EyeData:
    """The train and val photos of ``conversion.eyes``'s split with ``seed`` (at most ``limit``
    images; 0 = all): everything the cross-validation may use. The test photos are never in it."""
    idx = split_by_group(data.group, DEFAULT_FRACTIONS, seed)
    return subset(data.take(np.concatenate([idx["train"], idx["val"]])), limit, seed)


def cross_validate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the k-fold cross-validation and write ``cv.json`` to the report folder."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    data = load_cew(args.data)
    set_tf_threads(args.threads)
    pool = pool_without_test(data, args.seed, args.limit)
    folds = group_folds(pool.group, args.cv, args.seed)
    reports = (args.reports or eye_reports(args.out_model)) / "cv"
    reports.mkdir(parents=True, exist_ok=True)
    meta, net = eye_metadata(), eye_network(args)
    plain_all, tta_all, rows, per_fold = [], [], [], []
    t0 = time.monotonic()
    for i, held in enumerate(folds):
        train_d = pool.take(np.setdiff1d(np.arange(len(pool)), held))
        held_d = pool.take(held)
        log = reports / f"history_fold{i}.csv"
        model, _, _ = skeleton.fit_cnn(net, train_d.split(), held_d.split(), args, args.seed + i, log, meta)
        flat = skeleton.to_int8(model, train_d.split(), min(args.calibration, len(train_d)), args.seed, meta)
        clf, tmp = skeleton.device_classifier(flat, reports / f"fold{i}.tflite", meta)
        plain, tta = predict_int8(clf, held_d.x)
        clf.close()
        tmp.unlink()
        fold = {"images": len(held_d), "plain": scores(plain, held_d), "flip_average": scores(tta, held_d)}
        per_fold.append(fold)
        print(f"fold {i + 1}/{args.cv}: {json.dumps(fold)}")
        plain_all.append(plain)
        tta_all.append(tta)
        rows.append(held)
    pooled_rows = np.concatenate(rows)
    pooled = pool.take(pooled_rows)
    plain_p, tta_p = np.concatenate(plain_all), np.concatenate(tta_all)
    result = {
        "folds": args.cv,
        "split_seed": args.seed,
        "images": len(pooled),
        "photos": len(np.unique(pooled.group)),
        "pooled": {"plain": scores(plain_p, pooled), "flip_average": scores(tta_p, pooled)},
        "per_fold": per_fold,
        "recipe": eye_recipe(args),
        "train_seconds": round(time.monotonic() - t0, 1),
        "cpu_count": os.cpu_count(),
    }
    (reports.parent / "cv.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"pooled over {len(pooled)} images: {json.dumps(result['pooled'])}")
    return result
