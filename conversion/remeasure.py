"""Re-measure a shipped int8 emotion model on the current private_test, both protocols.

Usage::

    python -m conversion.remeasure --tflite models/emotion.tflite

For a model whose float Keras file is not at hand (so :mod:`conversion.quantize` cannot verify it
again) when the shared data changed under it: the int8 model runs through the device runtime on
private_test, on FER2013's labels and on FER+'s majority labels, and the numbers replace
``metrics.private_test`` / ``metrics.private_test_ferplus`` in its metadata. A record measured on
a different number of images (an earlier version of the file) is kept as
``metrics.private_test_version1``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conversion.common import run_main
from conversion.dataset import load_fer2013
from conversion.ferplus import load_ferplus
from conversion.paths import MODELS, fer2013_path, ferplus_path
from edge_monitor.crops import model_input
from edge_monitor.inference import load_classifier


def remeasure(args: argparse.Namespace) -> dict:
    """Measure, rewrite the metadata's metrics; returns the new metrics."""
    meta_path = args.tflite.with_suffix(".json")
    clf = load_classifier(args.tflite)
    split = load_fer2013(args.data).private_test
    majority = load_ferplus(args.ferplus, args.data)["private_test"].majority
    pred = clf.predict_probs(model_input(split.x, clf.meta)).argmax(axis=1)
    clf.close()
    has = majority >= 0
    raw = json.loads(meta_path.read_text(encoding="utf-8"))
    metrics = raw.get("metrics", {})
    old = metrics.get("private_test", {})
    if old and old.get("images") != len(split) and "private_test_version1" not in metrics:
        metrics["private_test_version1"] = old
    metrics["private_test"] = {
        "images": len(split),
        "int8_accuracy": float((pred == split.y).mean()),
        "file_bytes": args.tflite.stat().st_size,
        "calibration_images": old.get("calibration_images"),
        "measured": "int8 through the device runtime (the float model is not at hand)",
    }
    metrics["private_test_ferplus"] = {
        "images": int(has.sum()),
        "int8_accuracy": float((pred[has] == majority[has]).mean()),
    }
    raw["metrics"] = metrics
    meta_path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics, indent=2))
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conversion.remeasure", description=__doc__.split("\n\n")[0])
    p.add_argument("--tflite", type=Path, default=MODELS / "emotion.tflite")
    p.add_argument("--data", type=Path, default=fer2013_path())
    p.add_argument("--ferplus", type=Path, default=ferplus_path())
    return run_main(remeasure, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
