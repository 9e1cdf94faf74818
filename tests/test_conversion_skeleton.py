"""The training skeleton's sequence (fit → int8 → device check → publish → report) on synthetic crops."""

from __future__ import annotations

import argparse
import csv
import dataclasses

import numpy as np
import pytest

from conversion import skeleton
from conversion.common import grey_metadata
from conversion.dataset import Split
from edge_monitor.contrast import Contrast
from edge_monitor.crops import model_input
from edge_monitor.inference import load_classifier

META = grey_metadata("toy", ("dark", "bright"), (24, 24), {})


def _crops(n: int, seed: int) -> Split:
    """Dark (label 0) and bright (label 1) noisy 24x24 crops, alternating."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = np.where(y == 1, 190, 60)[:, None, None]
    x = np.clip(base + rng.normal(0, 25, (n, 24, 24)), 0, 255).astype(np.uint8)
    return Split(x, y.astype(np.int64))


def _args(out_model, epochs: int) -> argparse.Namespace:
    recipe = {"epochs": epochs, "batch_size": 32, "lr": 3e-3, "weight_decay": 1e-4, "label_smoothing": 0.05}
    net = {"widths": [8, 16], "convs": [1, 1], "dropout": 0.1}
    # 2 threads like the other conversion smoke tests (TensorFlow fixes its pools once per process).
    return argparse.Namespace(**recipe, **net, seed=3, calibration=50, threads=2, out_model=out_model)


def _trainer(tmp_path, measure, seen: dict) -> skeleton.Trainer:
    train, val = _crops(160, 0), _crops(60, 1)

    def metadata(fitted, measured):
        seen["fitted"] = fitted
        return dataclasses.replace(META, metrics=skeleton.model_metrics(fitted, measured, {"test": measured}))

    return skeleton.Trainer(
        network=skeleton.Network((24, 24, 1), 2, "toy_cnn", lambda seed: None),
        meta=META,
        train=train,
        val=val,
        calibration=Split(train.x[:80], train.y[:80]),
        reports=tmp_path / "reports",
        measure=measure,
        metadata=metadata,
        report=lambda meta, measured: {"published": meta.metrics, **measured},
    )


@pytest.mark.train
def test_run_trainer_publishes_the_model_it_verified(tmp_path):
    out = tmp_path / "models" / "toy.tflite"
    test = _crops(40, 2)
    seen: dict = {}

    def measure(clf, model):
        seen["published_before_measure"] = out.exists() or out.with_suffix(".json").exists()
        top_q = skeleton.predict_device(clf, test.x).argmax(1)
        top_f = skeleton.predict_float(model, test.x, clf.meta).argmax(1)
        return {
            "int8_accuracy": float((top_q == test.y).mean()),
            "top1_agreement": float((top_q == top_f).mean()),
        }

    result = skeleton.run_trainer(_trainer(tmp_path, measure, seen), _args(out, epochs=2))

    assert seen["published_before_measure"] is False
    assert not out.with_suffix(".tflite.tmp").exists()
    fitted = seen["fitted"]
    assert fitted.epochs_run == 2 and fitted.best_epoch in (1, 2)
    assert fitted.calibration_images == 50  # --calibration, below the pool of 80
    assert fitted.file_bytes == out.stat().st_size
    rows = list(csv.DictReader((tmp_path / "reports" / "history.csv").open()))
    assert len(rows) == 2
    best_row = rows[fitted.best_epoch - 1]
    assert fitted.best_val_accuracy == pytest.approx(float(best_row["val_accuracy"]))
    assert fitted.best_val_accuracy == pytest.approx(max(float(r["val_accuracy"]) for r in rows))
    # The published file is the one measured: reloaded from disk, it reproduces the measured accuracy.
    clf = load_classifier(out)
    try:
        reloaded = float((skeleton.predict_device(clf, test.x).argmax(1) == test.y).mean())
        assert reloaded == result["int8_accuracy"]
        assert clf.meta.metrics == result["published"]
        assert clf.meta.metrics["calibration_images"] == 50
        assert clf.meta.metrics["test_accuracy"] == result["int8_accuracy"]
    finally:
        clf.close()


@pytest.mark.train
def test_run_trainer_keeps_the_old_model_when_the_check_fails(tmp_path):
    out = tmp_path / "toy.tflite"
    out.write_bytes(b"the model in place before")

    def measure(clf, model):
        raise RuntimeError("device check failed")

    with pytest.raises(RuntimeError, match="device check failed"):
        skeleton.run_trainer(_trainer(tmp_path, measure, {}), _args(out, epochs=1))
    assert out.read_bytes() == b"the model in place before"
    assert not out.with_suffix(".json").exists()


def _batch_spy(seen: list):
    """An augmenter factory that changes nothing and keeps every training batch it is given."""

    def factory(seed: int):
        import tensorflow as tf

        def keep(batch):
            seen.append(batch.numpy())
            return batch

        def augment(x):
            out = tf.py_function(keep, [x], tf.float32)
            out.set_shape(x.shape)
            return out

        return augment

    return factory


@pytest.mark.train
def test_fit_feeds_the_network_the_contrast_normalised_crops_of_the_metadata(tmp_path):
    equalised = dataclasses.replace(META, contrast="equalize_hist")
    train = _crops(64, 0)
    batches: list = []
    net = skeleton.Network((24, 24, 1), 2, "toy_cnn", _batch_spy(batches))
    args = _args(tmp_path / "toy.tflite", epochs=1)
    skeleton.fit_cnn(net, train, None, args, args.seed, tmp_path / "history.csv", equalised)

    seen = np.concatenate(batches)
    assert seen.shape == (64, 24, 24, 1)
    expected = model_input(Contrast("equalize_hist").apply(train.x), META)
    plain = model_input(train.x, META)
    # Every training input is the scale/offset of an equalised crop (shuffled), none the plain crop's.
    rows = {r.tobytes() for r in expected}
    assert all(r.tobytes() in rows for r in seen)
    assert not any(r.tobytes() in {p.tobytes() for p in plain} for r in seen)
    assert sorted(r.tobytes() for r in seen) == sorted(rows)
