"""conversion.metrics on hand-checked examples; the plots write real PNGs."""

from __future__ import annotations

import numpy as np
import pytest

from conversion import metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# cm = [[2, 1, 0], [0, 1, 1], [0, 0, 1]]: precision (1, 1/2, 1/2), recall (2/3, 1/2, 1), F1 (4/5, 1/2, 2/3).
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])
LABELS = ("a", "b", "c")


def test_confusion_matrix_counts():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert cm.dtype == np.int64
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert metrics.confusion_matrix(np.array([], int), np.array([], int), 2).tolist() == [[0, 0], [0, 0]]


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        metrics.confusion_matrix(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        metrics.confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="y_pred"):
        metrics.confusion_matrix(np.array([0, 1]), np.array([0, -1]), 2)


def test_report_exact_numbers():
    r = metrics.classification_report(Y_TRUE, Y_PRED, LABELS)
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["support"] == 6
    assert r["labels"] == ["a", "b", "c"]
    assert r["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    expected = {
        "a": (1.0, 2 / 3, 0.8, 3),
        "b": (0.5, 0.5, 0.5, 2),
        "c": (0.5, 1.0, 2 / 3, 1),
    }
    for name, (p, rec, f1, s) in expected.items():
        c = r["per_class"][name]
        assert (c["precision"], c["recall"], c["f1"]) == pytest.approx((p, rec, f1))
        assert c["support"] == s
    assert r["macro"] == pytest.approx({"precision": 2 / 3, "recall": 13 / 18, "f1": 59 / 90})
    # Weights by support (3, 2, 1)/6; weighted recall always equals accuracy.
    assert r["weighted"] == pytest.approx({"precision": 0.75, "recall": 4 / 6, "f1": 61 / 90})


def test_report_zero_divisions_are_zero():
    # Class b is never predicted (precision 0/0), class c never occurs (recall 0/0).
    r = metrics.classification_report(np.array([0, 0, 1]), np.array([0, 0, 0]), LABELS)
    assert r["per_class"]["a"]["precision"] == pytest.approx(2 / 3)
    assert r["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert r["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert r["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert r["macro"]["f1"] == pytest.approx(0.8 / 3)  # absent classes still count in the macro average
    assert r["weighted"]["f1"] == pytest.approx(0.8 * 2 / 3)
    empty = metrics.classification_report(np.array([], int), np.array([], int), LABELS)
    assert empty["accuracy"] == 0.0 and empty["macro"]["f1"] == 0.0 and empty["weighted"]["f1"] == 0.0


def test_report_perfect():
    r = metrics.classification_report(np.arange(3), np.arange(3), LABELS)
    assert r["accuracy"] == 1.0
    assert r["macro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_format_report_rows():
    text = metrics.format_report(metrics.classification_report(Y_TRUE, Y_PRED, LABELS))
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["precision"] == ["recall", "f1", "support"]
    assert rows["a"] == ["1.000", "0.667", "0.800", "3"]
    assert rows["c"] == ["0.500", "1.000", "0.667", "1"]
    assert rows["accuracy"] == ["0.667", "6"]
    assert rows["macro"] == ["avg", "0.667", "0.722", "0.656", "6"]
    assert rows["weighted"] == ["avg", "0.750", "0.667", "0.678", "6"]


def test_plot_confusion_writes_png(tmp_path):
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, 3)
    out = metrics.plot_confusion(cm, LABELS, tmp_path / "sub" / "cm.png", title="test")
    assert out == tmp_path / "sub" / "cm.png"
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    # A class with no samples must not divide by zero.
    metrics.plot_confusion(np.zeros((3, 3), int), LABELS, tmp_path / "zeros.png")
    assert (tmp_path / "zeros.png").read_bytes().startswith(PNG_MAGIC)


HISTORY = """epoch,accuracy,learning_rate,loss,val_accuracy,val_loss
0,0.30,0.001,1.80,0.35,1.70
1,0.40,0.002,1.60,0.45,1.50
2,0.50,0.002,1.40,0.50,1.40
2,0.52,0.002,1.38,0.55,1.35
3,0.55,0.001,1.30,0.53,1.36
"""


def test_read_history_last_row_of_an_epoch_wins(tmp_path):
    p = tmp_path / "history.csv"
    p.write_text(HISTORY)
    h = metrics.read_history(p)
    assert h["epoch"].tolist() == [0, 1, 2, 3]
    assert h["val_accuracy"].tolist() == [0.35, 0.45, 0.55, 0.53]
    assert "learning_rate" in h


@pytest.mark.parametrize(
    "text", [HISTORY, HISTORY.replace(",learning_rate", "").replace(",0.001", "").replace(",0.002", "")]
)
def test_plot_history_writes_png(tmp_path, text):
    p = tmp_path / "history.csv"
    p.write_text(text)
    out = metrics.plot_history(p, tmp_path / "curves.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("epoch,accuracy,loss,val_accuracy,val_loss\n", "no epochs"),
        ("epoch,loss\n0,1.0\n", "lacks"),
    ],
)
def test_plot_history_rejects_empty_or_foreign_files(tmp_path, text, match):
    p = tmp_path / "history.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        metrics.plot_history(p, tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()
