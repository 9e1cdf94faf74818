"""Full-integer (int8) post-training quantization of a trained Keras model, then verification.

Usage::

    python -m conversion.quantize --keras runs/emotion/best.keras --out models/emotion.tflite

The representative set is drawn, stratified by class, from the *training* split and preprocessed
by ``edge_monitor.crops`` exactly as on the device (the model's contrast normalisation included).
Verification runs the int8 model through the device's runtime
(:class:`edge_monitor.inference.TfliteClassifier`) on private_test and reports top-1 agreement with
the float model and the accuracy drop, on FER2013's labels (``private_test``) and on FER+'s majority
labels (``private_test_ferplus``, where ``ferplus.npz`` is present); both go into the metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from conversion.common import compare_float_int8, run_main
from conversion.dataset import FER_CLASSES, Split, load_fer2013
from conversion.ferplus import majority_labels
from conversion.int8 import convert_int8, representative_images
from conversion.paths import MODELS, fer2013_path, ferplus_path
from conversion.skeleton import device_classifier, publish, to_int8
from edge_monitor.crops import model_input
from edge_monitor.inference import TfliteClassifier
from edge_monitor.metadata import ModelMetadata


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.quantize", description=__doc__.split("\n\n")[0])
    p.add_argument("--keras", type=Path, default=Path("runs/emotion/best.keras"), help="trained float model")
    p.add_argument(
        "--meta", type=Path, default=None, help="metadata JSON (default: emotion.json beside --keras)"
    )
    p.add_argument("--data", type=Path, default=fer2013_path())
    p.add_argument(
        "--ferplus", type=Path, default=ferplus_path(), help="FER+ labels (verified too if present)"
    )
    p.add_argument("--out", type=Path, default=MODELS / "emotion.tflite")
    p.add_argument("--calibration", type=int, default=1000, help="representative images (>= 300)")
    p.add_argument("--limit", type=int, default=0, help="verify on a subset (smoke tests)")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args(argv)


def verify(
    model, classifier: TfliteClassifier, split: Split, meta: ModelMetadata, ferplus: np.ndarray | None = None
) -> dict:
    """Compare the float model with the int8 one on ``split`` (FER2013's labels).

    With ``ferplus`` (FER+ majority per image, -1 for none), also on the images that have one: the
    result then has ``"ferplus"`` with the same numbers.
    """
    x = model_input(split.x, meta)
    p_float = model.predict(x, batch_size=256, verbose=0)
    p_int8 = classifier.predict_probs(x)
    result = {"images": len(split), **compare_float_int8(p_float, p_int8, split.y)}
    if ferplus is not None:
        has = ferplus >= 0
        result["ferplus"] = {
            "images": int(has.sum()),
            **compare_float_int8(p_float[has], p_int8[has], ferplus[has]),
        }
    return result


def quantize(args: argparse.Namespace) -> dict:
    """Quantize, write ``.tflite`` + ``.json``, verify; returns the verification numbers."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if args.calibration < 300:
        raise SystemExit("--calibration must be at least 300 images")
    meta_path = args.meta or args.keras.with_name("emotion.json")
    meta = ModelMetadata.load(meta_path)
    splits = load_fer2013(args.data)
    model = keras.models.load_model(args.keras, compile=False)
    flat = to_int8(model, splits.train, args.calibration, args.seed, meta)
    classifier, tmp = device_classifier(flat, args.out, meta, threads=os.cpu_count() or 1)
    test, rows = splits.part("private_test", args.limit, args.seed)
    ferplus = majority_labels(args.ferplus, args.data, "private_test", rows)
    result = verify(model, classifier, test, meta, ferplus)
    classifier.close()
    fp_result = result.pop("ferplus", None)
    result["calibration_images"] = args.calibration
    result["file_bytes"] = len(flat)
    measured = {"private_test": result}
    if fp_result is not None:
        measured["private_test_ferplus"] = fp_result
    publish(tmp, args.out, dataclasses.replace(meta, metrics=measured))
    print(json.dumps(measured, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    return run_main(quantize, parse_args(argv))


__all__ = ["FER_CLASSES", "convert_int8", "main", "quantize", "representative_images", "verify"]

if __name__ == "__main__":
    sys.exit(main())
