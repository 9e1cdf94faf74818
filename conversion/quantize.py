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
from conversion.ferplus import load_ferplus
from conversion.paths import MODELS, fer2013_path, ferplus_path
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
    calib = model_input(representative_images(splits.train, args.calibration, args.seed), meta)
    flat = convert_int8(model, calib)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tflite.tmp")
    tmp.write_bytes(flat)
    classifier = TfliteClassifier(tmp, meta, threads=os.cpu_count() or 1)
    rows = (
        splits.private_test.subset_index(args.limit, args.seed)
        if args.limit
        else np.arange(len(splits.private_test))
    )
    test = Split(splits.private_test.x[rows], splits.private_test.y[rows])
    ferplus = None
    if args.ferplus.is_file() and args.data.suffix == ".npz":
        ferplus = load_ferplus(args.ferplus, args.data)["private_test"].majority[rows]
    result = verify(model, classifier, test, meta, ferplus)
    classifier.close()
    fp_result = result.pop("ferplus", None)
    result["calibration_images"] = args.calibration
    result["file_bytes"] = len(flat)
    tmp.replace(args.out)
    measured = {"private_test": result}
    if fp_result is not None:
        measured["private_test_ferplus"] = fp_result
    out_meta = dataclasses.replace(meta, metrics=measured)
    out_meta.save(args.out.with_suffix(".json"))
    print(json.dumps(measured, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    return run_main(quantize, parse_args(argv))


__all__ = ["FER_CLASSES", "convert_int8", "main", "quantize", "representative_images", "verify"]

if __name__ == "__main__":
    sys.exit(main())
