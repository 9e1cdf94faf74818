"""Write ``models/MODEL_CARD.md`` from measured results only.

Usage::

    python -m conversion.model_card

Reads the evaluation (``reports/emotion/evaluation.json``, from ``conversion.evaluate``), what was
tried (``reports/emotion/experiments.json``, from ``conversion.experiments``, if present), the
quantization check and recipe in ``models/emotion.json`` (from ``conversion.train`` and
``conversion.quantize``) and the latency benchmark (``benchmarks/results/emotion_latency.json``),
copies the confusion-matrix and training-curve pictures next to the card, and renders the card.
No number in the card is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from conversion.card_emotion import render
from conversion.card_small import REPORTS, SMALL_MODELS, render_small
from conversion.card_tables import PROTOCOLS, pct
from conversion.paths import MODELS, REPO

__all__ = ["decision", "main", "render", "render_small"]


def _load_optional(path: Path) -> dict:
    """A JSON file's content, or {} where the file is absent (its rows are then left out)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _load(path: Path, what: str, how: str) -> dict:
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing ({what}); produce it with: {how}")
    return json.loads(path.read_text(encoding="utf-8"))


def decision(experiments: dict) -> str:
    """Whether the candidate beats the shipped model on public_test on both protocols (int8)."""
    shipped, candidate = experiments["tflite"][0], experiments["tflite"][1]
    better = {
        key: candidate["public_test"][f"{key}_accuracy"] > shipped["public_test"][f"{key}_accuracy"]
        for key in PROTOCOLS
    }
    verdict = "ships" if all(better.values()) else "does not ship"
    parts = [
        f"{PROTOCOLS[k]} {pct(candidate['public_test'][f'{k}_accuracy'])} vs"
        f" {pct(shipped['public_test'][f'{k}_accuracy'])} ({'better' if ok else '**not better**'})"
        for k, ok in better.items()
    ]
    return (
        f"Rule: a new model ships only if its int8 model beats the shipped one for the device on public_test"
        f" on both protocols. Candidate `{candidate['model']}` vs shipped `{shipped['model']}`: "
        + "; ".join(parts)
        + f". So it {verdict}."
    )


def _demote(text: str) -> str:
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines()) + "\n"


def _pictures(report_dir: Path, out_dir: Path, prefix: str) -> dict[str, str]:
    pictures = {}
    for key, src in (
        ("confusion_ferplus", report_dir / "confusion_ferplus_tflite.png"),
        ("confusion", report_dir / "confusion_tflite.png"),
        ("curves", report_dir / "training_curves.png"),
    ):
        if src.is_file():
            dst = out_dir / f"{prefix}_{key}.png"
            if src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
            pictures[key] = dst.name
    return pictures


def _emotion_part(args, evaluation: dict, meta: dict, latency: dict, pictures: dict, experiments) -> str:
    """The shipped emotion model's sections; with a measured candidate, its own demoted sections too."""
    candidate_dir = args.evaluation.parent / "candidate"
    if (candidate_dir / "evaluation.json").is_file():
        # A model trained and measured but not shipped: its own section, with what was tried.
        text = render(evaluation, meta, latency, pictures)
        text += "\n## Emotion model v2: trained on FER+, measured, not shipped\n\n"
        if experiments and len(experiments.get("tflite", [])) > 1:
            text += decision(experiments) + "\n\n"
        text += _demote(
            render(
                _load(candidate_dir / "evaluation.json", "the candidate's evaluation", "conversion.evaluate"),
                _load(candidate_dir / "emotion.json", "the candidate's metadata", "conversion.quantize"),
                _load(
                    candidate_dir / "latency.json", "the candidate's latency", "benchmarks.emotion_latency"
                ),
                _pictures(candidate_dir, args.out.parent, "emotion_candidate"),
                experiments,
                shipped=False,
            )
        )
    else:
        text = render(evaluation, meta, latency, pictures, experiments)
        if experiments and len(experiments.get("tflite", [])) > 1:
            text = text.replace(
                "### What was tried (public_test)\n",
                "### What was tried (public_test)\n\n" + decision(experiments) + "\n",
                1,
            )
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conversion.model_card", description=__doc__.split("\n\n")[0])
    p.add_argument("--evaluation", type=Path, default=REPO / "reports" / "emotion" / "evaluation.json")
    p.add_argument("--meta", type=Path, default=MODELS / "emotion.json")
    p.add_argument("--latency", type=Path, default=REPO / "benchmarks" / "results" / "emotion_latency.json")
    p.add_argument("--out", type=Path, default=MODELS / "MODEL_CARD.md")
    args = p.parse_args(argv)
    evaluation = _load(
        args.evaluation,
        "the evaluation",
        "python -m conversion.evaluate --keras runs/emotion/best.keras --mini-xception --flip-tta",
    )
    meta = _load(args.meta, "the model metadata", "python -m conversion.quantize")
    latency = _load(args.latency, "the latency benchmark", "python -m benchmarks.emotion_latency")
    pictures = _pictures(args.evaluation.parent, args.out.parent, "emotion")
    experiments = _load_optional(args.evaluation.with_name("experiments.json")) or None
    text = _emotion_part(args, evaluation, meta, latency, pictures, experiments)
    small_latency = _load_optional(args.latency.with_name("small_models_latency.json")).get("one_thread", {})
    cross_validation = {"eye_state": _load_optional(REPO / "reports" / "eyes" / "cv.json") or None}
    for name in SMALL_MODELS:
        small = _load_optional(args.meta.with_name(f"{name}.json"))
        contrast = _load_optional(REPO / REPORTS[name] / "contrast_candidate" / f"{name}.json") or None
        if small:
            text += "\n" + render_small(
                name, small, small_latency.get(name), cross_validation.get(name), contrast
            )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
