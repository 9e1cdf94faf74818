"""Shared fixtures: the real clips and datasets in ../shared, the shipped model, the config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The network guard (autouse: no test reaches beyond this machine); pytester runs the guard's own tests.
pytest_plugins = ("tests.network_guard", "pytester")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EDGE_MONITOR_SHARED", REPO.parent / "shared"))
TRAIN_EXTRA = "needs the train extra: pip install -e .[train]"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``train`` skips without TensorFlow, before its fixtures import Keras."""
    if item.get_closest_marker("train") is not None:
        pytest.importorskip("tensorflow", reason=TRAIN_EXTRA)


def require_shared(relpath: str) -> Path:
    """A file in ../shared; skipped with a reason when absent, a failure under CI=true."""
    p = SHARED / relpath
    if not p.exists():
        msg = f"{p} is absent (the shared data sits beside the repository; see README)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {msg}")
        pytest.skip(msg)
    return p


def assert_picture(path: Path, min_side: int = 100) -> None:
    """``path`` is an image OpenCV decodes, at least ``min_side`` pixels each way (a real plot)."""
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable image"
    assert min(image.shape[:2]) >= min_side, f"{path} is only {image.shape[1]}x{image.shape[0]}"


def replay(video: Path, events: Path, *extra: object) -> int:
    """``edge-monitor --video VIDEO --events EVENTS --quiet --gpio off EXTRA...`` in-process: its exit code."""
    from edge_monitor.cli import main

    return main(
        ["--video", str(video), "--events", str(events), "--quiet", "--gpio", "off", *map(str, extra)]
    )


@pytest.fixture
def clip():
    """``clip("pyfeat/single_face.mp4")`` → the path of a shared clip."""
    return lambda name: require_shared(f"clips/{name}")


def shipped_model(name: str) -> Path:
    """``models/<name>.tflite``, the shipped model (a failure when it is missing)."""
    from edge_monitor.paths import shipped_models_dir

    p = shipped_models_dir() / f"{name}.tflite"
    assert p.is_file(), f"the shipped model models/{name}.tflite is missing"
    return p


@pytest.fixture(scope="session")
def emotion_model_path() -> Path:
    """The shipped int8 emotion model."""
    return shipped_model("emotion")


@pytest.fixture(scope="session")
def emotion_classifier(emotion_model_path):
    """The shipped model loaded by the device's runtime (built once for the session)."""
    from edge_monitor.inference import load_classifier

    clf = load_classifier(emotion_model_path)
    yield clf
    clf.close()


@pytest.fixture
def broker(tmp_path):
    """A mosquitto broker on 127.0.0.1 in ``tmp_path/broker``, not started (tests/mqtt_broker.py)."""
    import signal

    from tests.mqtt_broker import Broker, mosquitto_path

    mosquitto_path()
    b = Broker(tmp_path / "broker")
    yield b
    b.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def config():
    """The packaged default config."""
    from edge_monitor.config import load_config

    return load_config()
