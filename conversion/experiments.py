"""Summarise training runs for the model card: recipe, time per epoch, public_test on both protocols.

Usage::

    python -m conversion.experiments --group contrast runs/contrast/none runs/contrast/equalize_hist \\
        --group labels runs/labels/k3 --group final runs/emotion --out reports/emotion/experiments.json
    python -m conversion.experiments --baseline models/emotion.tflite ...   # also a TFLite model
    python -m conversion.experiments --merge --group final runs/emotion_30 ...  # keep earlier runs

Every run's ``best.keras`` (the checkpoint its training selected on public_test) is measured on
public_test only, on FER2013's labels and on FER+'s majority labels, through
:func:`edge_monitor.crops.model_input` with the run's own metadata (its contrast normalisation).
Nothing here looks at private_test: these numbers are what choices are made on.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

from conversion.dataset import load_fer2013
from conversion.ferplus import load_ferplus
from conversion.paths import REPO, fer2013_path, ferplus_path
from edge_monitor.crops import model_input
from edge_monitor.metadata import ModelMetadata


def _subsets(y: np.ndarray, majority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images with a FER+ majority among the seven classes, and those where it is FER2013's label."""
    has = majority >= 0
    return has, has & (majority == y)


def _accuracies(probs: np.ndarray, y: np.ndarray, majority: np.ndarray) -> dict[str, float]:
    """Top-1 on FER2013's labels (every image), on FER+'s majority (images that have one among the
    seven classes), and on the images where the two agree: the labels both annotations support."""
    pred = probs.argmax(axis=1)
    has, agreed = _subsets(y, majority)
    return {
        "fer2013_accuracy": float((pred == y).mean()),
        "ferplus_accuracy": float((pred[has] == majority[has]).mean()),
        "agreed_accuracy": float((pred[agreed] == y[agreed]).mean()),
        "agreed_images": int(agreed.sum()),
    }


def summarise_run(run: Path, x: np.ndarray, y: np.ndarray, majority: np.ndarray) -> dict:
    """One run: its recipe, history and time, and its selected checkpoint on public_test."""
    import keras

    meta = ModelMetadata.load(run / "emotion.json")
    history = list(csv.DictReader((run / "history.csv").open()))
    model = keras.models.load_model(run / "best.keras", compile=False)
    probs = model.predict(model_input(x, meta), batch_size=256, verbose=0)
    extra = meta.extra
    seconds = float(extra.get("train_seconds", 0.0))
    epochs = int(extra.get("epochs_run", len(history)))
    recipe = extra.get("recipe", {})
    return {
        "run": os.path.relpath(run.resolve(), REPO),
        "contrast": meta.contrast.to_json(),
        "labels": recipe.get("labels", "fer2013"),
        "fer2013_votes": recipe.get("fer2013_votes", 0.0),
        "widths": recipe.get("widths"),
        "convs": recipe.get("convs"),
        "params": extra.get("params"),
        "epochs": epochs,
        "train_seconds": seconds,
        "seconds_per_epoch": round(seconds / max(1, epochs), 1),
        "history": {
            "val_accuracy": [float(r["val_accuracy"]) for r in history],
            "accuracy": [float(r["accuracy"]) for r in history],
        },
        "public_test": _accuracies(probs, y, majority),
        # The int8 model's median latency, where the run was quantized and timed into run/int8/.
        "int8_latency_ms": _latency(run / "int8" / "latency.json"),
    }


def _latency(path: Path) -> float | None:
    if not path.is_file():
        return None
    return float(json.loads(path.read_text(encoding="utf-8"))["one_thread"]["inference_ms"]["p50"])


def summarise_tflite(path: Path, x: np.ndarray, y: np.ndarray, majority: np.ndarray) -> dict:
    """A TFLite model through the device runtime on public_test."""
    from edge_monitor.inference import load_classifier

    clf = load_classifier(path)
    probs = clf.predict_probs(model_input(x, clf.meta))
    out = {"model": os.path.relpath(path.resolve(), REPO), "contrast": clf.meta.contrast.to_json()}
    clf.close()
    return {**out, "public_test": _accuracies(probs, y, majority)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conversion.experiments", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--group", nargs="+", action="append", default=[], metavar=("NAME", "RUN"), help="a group of runs"
    )
    p.add_argument("--baseline", type=Path, action="append", default=[], help="a TFLite model to compare")
    p.add_argument("--data", type=Path, default=fer2013_path())
    p.add_argument("--ferplus", type=Path, default=ferplus_path())
    p.add_argument("--out", type=Path, default=REPO / "reports" / "emotion" / "experiments.json")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs already recorded in --out that are not measured again (their folders may be gone)",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    split = load_fer2013(args.data).public_test
    majority = load_ferplus(args.ferplus, args.data)["public_test"].majority
    has, agreed = _subsets(split.y, majority)
    result = {
        "split": "public_test",
        # How often FER2013's label is FER+'s majority: what a model that matched FER+ exactly
        # would score on FER2013's labels (images with a majority).
        "label_agreement": {"images": int(has.sum()), "agreed": int(agreed.sum())},
        "groups": {},
        "tflite": [],
    }
    if args.merge and args.out.is_file():
        result["groups"] = json.loads(args.out.read_text(encoding="utf-8")).get("groups", {})
    printed = []
    for name, *runs in args.group:
        measured = [summarise_run(Path(r), split.x, split.y, majority) for r in runs]
        printed += [(name, m) for m in measured]
        # --merge: the group's runs recorded earlier stay (their run folders may be gone), a run
        # measured again replaces its own record.
        again = {m["run"] for m in measured}
        kept = [r for r in result["groups"].get(name, []) if r["run"] not in again]
        result["groups"][name] = kept + measured
    result["tflite"] = [summarise_tflite(b, split.x, split.y, majority) for b in args.baseline]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, r in printed:
        pt = r["public_test"]
        print(
            f"{name:10s} {r['run']:40s} {json.dumps(r['contrast']):45s} FER+ {pt['ferplus_accuracy']:.4f}"
            f"  FER2013 {pt['fer2013_accuracy']:.4f}  {r['epochs']} ep, {r['seconds_per_epoch']} s/ep"
        )
    for b in result["tflite"]:
        pt = b["public_test"]
        print(
            f"tflite     {b['model']:40s} FER+ {pt['ferplus_accuracy']:.4f}  FER2013 {pt['fer2013_accuracy']:.4f}"
            f"  both agree {pt['agreed_accuracy']:.4f}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
