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
from pathlib import Path
from typing import Any

import numpy as np

from conversion import metrics
from conversion.common import run_main
from conversion.dataset import FER_CLASSES, Split, load_fer2013
from conversion.emotion_models import (
    Candidate,
    keras_candidate,
    mini_xception_candidate,
    tflite_candidate,
)
from conversion.ferplus import majority_labels
from conversion.paths import MODELS, fer2013_path, ferplus_path
from edge_monitor.errors import (
    ModelNotFoundError,
    OutputError,
)
from edge_monitor.metadata import ModelMetadata


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


def _ferplus(args: argparse.Namespace, rows: np.ndarray) -> np.ndarray | None:
    """FER+ majority labels of the evaluated rows (-1: none; None: no FER+ labels for ``--data``,
    said on stderr)."""
    ferplus = majority_labels(args.ferplus, args.data, args.split, rows)
    if ferplus is None:
        print(
            f"note: no FER+ labels for {args.data} ({args.ferplus}); the FER+ protocol is left out",
            file=sys.stderr,
        )
    return ferplus


def _predict_all(cands: list[Candidate], split: Split, flip_tta: bool, out: Path) -> tuple[dict, dict]:
    """Every model's probabilities on the split (and flip-averaged ones), and their results."""
    probs: dict[str, np.ndarray] = {}
    results: dict[str, dict] = {}
    for cand in cands:
        t0 = time.perf_counter()
        p = cand.predict(np.ascontiguousarray(split.x)).astype(np.float32)
        probs[cand.name] = p
        results[cand.name] = _result(cand.name, cand, p, split.y, time.perf_counter() - t0, out)
        if not flip_tta:
            continue
        name = f"{cand.name}_flip"
        t0 = time.perf_counter()
        mirror = cand.predict(np.ascontiguousarray(split.x[:, :, ::-1])).astype(np.float32)
        seconds = time.perf_counter() - t0 + results[cand.name]["seconds"]
        probs[name] = (p + mirror) / 2.0  # flip TTA: mean of the image's and its mirror's probabilities
        results[name] = _result(name, cand, probs[name], split.y, seconds, out)
        results[name]["tta"] = "horizontal flip (mean of probabilities)"
        results[name]["gain_pp"] = 100.0 * (results[name]["accuracy"] - results[cand.name]["accuracy"])
    return probs, results


def _comparisons(probs: dict[str, np.ndarray], y: np.ndarray, has: np.ndarray | None = None) -> dict:
    """Keras against TFLite (plain and flip-averaged) on the rows ``has`` (None: all)."""
    rows = slice(None) if has is None else has
    return {
        f"{a}_vs_{b}": compare(probs[a][rows], probs[b][rows], y[rows])
        for a, b in (("keras", "tflite"), ("keras_flip", "tflite_flip"))
        if a in probs and b in probs
    }


def _ferplus_protocol(cands, probs, results, ferplus: np.ndarray, out: Path) -> dict[str, Any]:
    """The same predictions scored on FER+'s majority labels, on the images that have one."""
    has = ferplus >= 0
    models = {}
    for name, p in probs.items():
        cand = next(c for c in cands if name.startswith(c.name))
        models[name] = _result(name, cand, p[has], ferplus[has], results[name]["seconds"], out, "ferplus_")
    return {"images": int(has.sum()), "models": models, "comparisons": _comparisons(probs, ferplus, has)}


def _curves(keras_path: Path | None, out: Path) -> str | None:
    """``training_curves.png`` from the ``history.csv`` beside the Keras model, if there is one."""
    if keras_path is None or not (keras_path.parent / "history.csv").is_file():
        return None
    try:
        return metrics.plot_history(keras_path.parent / "history.csv", out / "training_curves.png").name
    except (ValueError, OSError, KeyError) as exc:
        print(f"note: training curves not plotted ({exc})", file=sys.stderr)
        return None


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run every model on the split; write the outputs; return what goes into ``evaluation.json``."""
    tflite = model_paths(args)
    split, rows = load_fer2013(args.data).part(args.split, args.limit, seed=0)
    cands = candidates(args, tflite)
    ferplus = _ferplus(args, rows)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {out} ({exc}); pass another --out") from None
    probs, results = _predict_all(cands, split, args.flip_tta, out)
    fp_eval = None if ferplus is None else _ferplus_protocol(cands, probs, results, ferplus, out)
    fp_labels = {} if ferplus is None else {"y_ferplus": ferplus}
    np.savez_compressed(
        out / "probabilities.npz",
        y_true=split.y,
        rows=rows,
        classes=np.array(FER_CLASSES),
        **fp_labels,
        **probs,
    )
    evaluation = {
        "data": str(args.data),
        "split": args.split,
        "images": len(split),
        "limit": args.limit,
        "classes": list(FER_CLASSES),
        "models": results,
        "comparisons": _comparisons(probs, split.y),
        "ferplus": fp_eval,
        "training_curves": _curves(args.keras, out),
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
