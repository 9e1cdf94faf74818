"""Classification metrics and evaluation plots (numpy only; matplotlib is imported by the plots).

The report follows scikit-learn's conventions: rows of the confusion matrix are true classes,
columns predicted ones; a ratio with a zero denominator is 0.0; macro averages weigh every
listed class equally (also a class absent from ``y_true``), weighted averages by support.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Count matrix ``cm[t, p]`` of true class ``t`` predicted as ``p``.

    Args:
        y_true: True labels (N,) in ``0..k-1``.
        y_pred: Predicted labels (N,) in ``0..k-1``.
        k: Number of classes.

    Returns:
        int64 array (k, k).

    Raises:
        ValueError: The arrays differ in shape or hold labels outside ``0..k-1``.
    """
    t = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= k):
            raise ValueError(f"{name} holds labels outside 0..{k - 1}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 / support, macro and weighted averages.

    Args:
        y_true: True labels (N,).
        y_pred: Predicted labels (N,).
        labels: Class names; label ``i`` is ``labels[i]``.

    Returns:
        A JSON-serialisable dict::

            {"accuracy": float, "support": N,
             "per_class": {name: {"precision", "recall", "f1", "support"}},
             "macro": {"precision", "recall", "f1"}, "weighted": {"precision", "recall", "f1"},
             "labels": [...], "confusion_matrix": [[...], ...]}
    """
    labels = list(labels)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    precision = _div(tp, cm.sum(axis=0))
    recall = _div(tp, support)
    f1 = _div(2 * precision * recall, precision + recall)
    n = int(cm.sum())
    w = support / n if n else np.zeros(len(labels))
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(labels)
    }
    return {
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "support": n,
        "per_class": per_class,
        "macro": _averages(precision, recall, f1),
        "weighted": _averages(precision, recall, f1, w),
        "labels": labels,
        "confusion_matrix": cm.tolist(),
    }


def _averages(
    precision: np.ndarray, recall: np.ndarray, f1: np.ndarray, weights: np.ndarray | None = None
) -> dict:
    """The classes' mean precision, recall and F1 (``weights``: weighted by them, e.g. support)."""
    scores = (("precision", precision), ("recall", recall), ("f1", f1))
    if weights is None:
        return {k: float(v.mean()) for k, v in scores}
    return {k: float((v * weights).sum()) for k, v in scores}


def format_report(report: dict[str, Any], digits: int = 3) -> str:
    """The report as a text table (one row per class, then accuracy and the two averages)."""
    names = list(report["per_class"])
    width = max([len(n) for n in names] + [len("weighted avg")])
    head = f"{'':>{width}}  {'precision':>9}  {'recall':>9}  {'f1':>9}  {'support':>8}"
    lines = [head, ""]

    def row(name: str, p: float, r: float, f: float, s: int) -> str:
        return f"{name:>{width}}  {p:>9.{digits}f}  {r:>9.{digits}f}  {f:>9.{digits}f}  {s:>8d}"

    for name in names:
        c = report["per_class"][name]
        lines.append(row(name, c["precision"], c["recall"], c["f1"], c["support"]))
    n = report["support"]
    lines.append("")
    lines.append(f"{'accuracy':>{width}}  {'':>9}  {'':>9}  {report['accuracy']:>9.{digits}f}  {n:>8d}")
    for key, title in (("macro", "macro avg"), ("weighted", "weighted avg")):
        a = report[key]
        lines.append(row(title, a["precision"], a["recall"], a["f1"], n))
    return "\n".join(lines)


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Save the confusion matrix as a PNG: colours row-normalised (recall), counts and % annotated.

    Args:
        cm: Count matrix (k, k), rows true classes.
        labels: Class names.
        path: Output PNG.
        title: Figure title.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.int64)
    k = len(labels)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, np.float64), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.1 * k + 2.5, 1.0 * k + 2.0), dpi=110)
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            colour = "white" if frac[i, j] > 0.5 else "black"
            ax.text(
                j,
                i,
                f"{cm[i, j]}\n{100 * frac[i, j]:.1f}%",
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
            )
    if title:
        ax.set_title(title)
    return _save(fig, path)


def read_history(history_csv_path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a Keras ``CSVLogger`` file as float arrays, one row per epoch.

    A resumed run can log an epoch twice; the last row of each epoch wins.

    Raises:
        ValueError: The file has no rows or lacks one of epoch, loss, accuracy, val_loss, val_accuracy.
    """
    p = Path(history_csv_path)
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = {int(float(r["epoch"])): r for r in reader if r.get("epoch") not in (None, "")}
        fields = set(reader.fieldnames or ())
    if not fields:
        raise ValueError(f"{p} is empty; no epoch has finished yet")
    missing = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"} - fields
    if missing:
        raise ValueError(f"{p} lacks column(s) {sorted(missing)}; expected a Keras CSVLogger file")
    if not rows:
        raise ValueError(f"{p} has no epochs yet")
    epochs = sorted(rows)
    cols = {"epoch": np.array(epochs, np.float64)}
    for name in fields - {"epoch"}:
        try:
            cols[name] = np.array([float(rows[e][name]) for e in epochs], np.float64)
        except (TypeError, ValueError):
            continue
    return cols


def plot_history(history_csv_path: str | Path, out_path: str | Path) -> Path:
    """Plot training curves from a Keras ``CSVLogger`` file: loss and accuracy, train vs public_test.

    Epochs are shown 1-based; the epoch with the best public_test accuracy is marked. A
    ``learning_rate`` column, if present, is drawn on a second axis of the loss panel.

    Returns:
        The path written.

    Raises:
        ValueError: The file is empty or not a CSVLogger file (see :func:`read_history`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = read_history(history_csv_path)
    ep = h["epoch"] + 1
    best = int(np.argmax(h["val_accuracy"]))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    ax_loss.plot(ep, h["loss"], label="train", color="tab:blue")
    ax_loss.plot(ep, h["val_loss"], label="public_test", color="tab:orange")
    ax_loss.set_title("loss")
    ax_loss.set_xlabel("epoch")
    if "learning_rate" in h:
        ax_lr = ax_loss.twinx()
        ax_lr.plot(ep, h["learning_rate"], color="grey", linestyle=":", linewidth=1, label="learning rate")
        ax_lr.set_ylabel("learning rate", color="grey")
        ax_lr.tick_params(axis="y", colors="grey")
    ax_acc.plot(ep, h["accuracy"], label="train", color="tab:blue")
    ax_acc.plot(ep, h["val_accuracy"], label="public_test", color="tab:orange")
    ax_acc.scatter(
        [ep[best]],
        [h["val_accuracy"][best]],
        color="tab:red",
        zorder=3,
        label=f"best {h['val_accuracy'][best]:.3f} (epoch {int(ep[best])})",
    )
    ax_acc.set_title("accuracy")
    ax_acc.set_xlabel("epoch")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    return _save(fig, out_path)


def _save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (folders made as needed) and release it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
